import { DatabaseSupervisor } from './database-supervisor';
import type { EmbeddedDatabase, ProcessExit } from './embedded-database';

/** A stand-in database process: the spec decides when it dies and whether a relaunch works. */
class FakeDatabase {
  static launches: FakeDatabase[] = [];
  static failNext = 0;
  private die!: (exit: ProcessExit) => void;
  readonly exited = new Promise<ProcessExit>((resolve) => (this.die = resolve));
  stopped = false;

  constructor(readonly pid: number) {}

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.die({ code: null, signal });
  }

  asEmbedded(): EmbeddedDatabase {
    return {
      kind: 'ferretdb',
      uri: 'mongodb://127.0.0.1:27999/opamp-commander',
      dataPath: '/tmp/x',
      pid: this.pid,
      exited: this.exited,
      stop: async () => {
        this.stopped = true;
        this.kill('SIGTERM');
      },
      relaunch: async () => {
        if (FakeDatabase.failNext > 0) {
          FakeDatabase.failNext--;
          throw new Error('address in use');
        }
        const next = new FakeDatabase(this.pid + 1);
        FakeDatabase.launches.push(next);
        return next.asEmbedded();
      },
    };
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup() {
  FakeDatabase.launches = [];
  FakeDatabase.failNext = 0;
  const delays: number[] = [];
  let clock = 0;
  const gaveUp = jest.fn();
  const first = new FakeDatabase(100);
  const supervisor = new DatabaseSupervisor(first.asEmbedded(), {
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    onGiveUp: gaveUp,
    sleep: async (ms) => {
      delays.push(ms);
      clock += ms;
    },
    now: () => clock,
  });
  return { first, supervisor, delays, gaveUp, advance: (ms: number) => (clock += ms) };
}

describe('DatabaseSupervisor', () => {
  it('restarts a database that died and follows the new process', async () => {
    const { first, supervisor, delays } = setup();
    expect(supervisor.state).toBe('running');
    first.kill();
    await flush();
    await flush();
    expect(FakeDatabase.launches).toHaveLength(1);
    expect(supervisor.state).toBe('running');
    expect(supervisor.pid).toBe(101);
    expect(supervisor.restartCount).toBe(1);
    expect(delays).toEqual([500]);
  });

  it('backs off 0.5 s doubling to 8 s and gives up after 5 failed restarts in a row', async () => {
    const { first, supervisor, delays, gaveUp } = setup();
    FakeDatabase.failNext = 100;
    first.kill();
    for (let i = 0; i < 20; i++) await flush();
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(supervisor.state).toBe('failed');
    expect(gaveUp).toHaveBeenCalledTimes(1);
  });

  it('counts a restarted database that dies again at once as a failed restart, and forgets failures once it stays up', async () => {
    const { first, supervisor, delays, advance } = setup();
    first.kill();
    await flush();
    await flush();
    FakeDatabase.launches[0].kill();
    await flush();
    await flush();
    expect(delays).toEqual([500, 1000]);
    advance(60_000);
    FakeDatabase.launches[1].kill();
    await flush();
    await flush();
    expect(delays).toEqual([500, 1000, 500]);
    expect(supervisor.state).toBe('running');
    expect(supervisor.restartCount).toBe(3);
  });

  it('a stop is not a death: nothing is restarted', async () => {
    const { first, supervisor, gaveUp } = setup();
    await supervisor.stop();
    await flush();
    expect(first.stopped).toBe(true);
    expect(FakeDatabase.launches).toHaveLength(0);
    expect(supervisor.state).toBe('stopped');
    expect(gaveUp).not.toHaveBeenCalled();
  });
});
