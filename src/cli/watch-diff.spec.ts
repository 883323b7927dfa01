import { diffSnapshots, signature } from './watch-diff';

describe('watch changes', () => {
  it('reports additions, modifications and deletions in order', () => {
    const prev = new Map([
      ['a', '1'],
      ['b', '1'],
      ['c', '1'],
    ]);
    const next = new Map([
      ['a', '1'],
      ['b', '2'],
      ['d', '1'],
    ]);
    expect(diffSnapshots(prev, next)).toEqual([
      { event: 'MODIFIED', key: 'b' },
      { event: 'ADDED', key: 'd' },
      { event: 'DELETED', key: 'c' },
    ]);
    expect(diffSnapshots(next, next)).toEqual([]);
  });

  it('ignores heartbeat noise but not real changes', () => {
    const base = {
      metadata: { name: 'u', updatedAt: '1' },
      status: { connection: { lastSeenAt: '1', sequenceNum: 4 }, remoteConfigStatus: { status: 'APPLYING' } },
    };
    const beat = {
      metadata: { name: 'u', updatedAt: '2' },
      status: { connection: { lastSeenAt: '2', sequenceNum: 5 }, remoteConfigStatus: { status: 'APPLYING' } },
    };
    const applied = { ...beat, status: { ...beat.status, remoteConfigStatus: { status: 'APPLIED' } } };
    expect(signature(base)).toBe(signature(beat));
    expect(signature(beat)).not.toBe(signature(applied));
    expect(signature({ b: 1, a: 2 })).toBe(signature({ a: 2, b: 1 }));
  });
});
