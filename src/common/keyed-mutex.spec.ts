import { KeyedMutex } from './keyed-mutex';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('KeyedMutex', () => {
  it('runs work of one key one at a time, in order, and different keys side by side', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string) =>
      m.run(key, async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
        return name;
      });
    const results = await Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1'), job('a', 'a3')]);
    expect(results).toEqual(['a1', 'a2', 'b1', 'a3']);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a1 start', 'a1 end', 'a2 start', 'a2 end', 'a3 start', 'a3 end']);
    expect(log.indexOf('b1 start')).toBeLessThan(log.indexOf('a1 end'));
    expect(m.size).toBe(0);
  });

  it('lets the next one run after a failure', async () => {
    const m = new KeyedMutex();
    await expect(m.run('k', async () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(m.run('k', async () => 'yes')).resolves.toBe('yes');
    expect(m.size).toBe(0);
  });
});

describe('KeyedMutex.runAll', () => {
  it('waits for every key it holds and lets unrelated keys run', async () => {
    const { KeyedMutex } = await import('./keyed-mutex');
    const m = new KeyedMutex();
    const order: string[] = [];
    let releaseA!: () => void;
    const a = m.run('a', () => new Promise<void>((r) => (releaseA = r)).then(() => void order.push('a')));
    const ab = m.runAll(['a', 'b'], async () => void order.push('ab'));
    const c = m.run('c', async () => void order.push('c'));
    const b = m.run('b', async () => void order.push('b'));
    await c;
    expect(order).toEqual(['c']);
    releaseA();
    await Promise.all([a, ab, b]);
    expect(order).toEqual(['c', 'a', 'ab', 'b']);
    expect(m.size).toBe(0);
  });
});
