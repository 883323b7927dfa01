import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  it('runs one at a time, and stop() waits for the run in progress and runs nothing after', async () => {
    let release!: () => void;
    let runs = 0;
    const task = new PeriodicTask(
      () => {
        runs++;
        return new Promise<void>((r) => (release = r));
      },
      () => undefined,
    );
    const first = task.runNow();
    const second = task.runNow();
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    await Promise.all([first, second, stopping]);
    expect(stopped).toBe(true);
    await task.runNow();
    task.start(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toBe(1);
  });

  it('hands a failed run to onError and keeps going', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const task = new PeriodicTask(
      async () => {
        runs++;
        throw new Error('boom');
      },
      (e) => errors.push(e),
    );
    await task.runNow();
    await task.runNow();
    expect(runs).toBe(2);
    expect(errors).toHaveLength(2);
    await task.stop();
  });
});
