import { setPath, SetPaths } from './agent-write-queue';

/** Applies `$set`s one after another as MongoDB would, to compare with a merged `$set`. */
function applyInOrder(sets: SetPaths[]): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const set of sets) {
    for (const [path, value] of Object.entries(set)) {
      const keys = path.split('.');
      let o = doc;
      for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
      o[keys[keys.length - 1]] = structuredClone(value);
    }
  }
  return doc;
}

function merged(sets: SetPaths[]): SetPaths {
  const out: SetPaths = {};
  for (const set of sets) for (const [p, v] of Object.entries(set)) setPath(out, p, v);
  return out;
}

describe('setPath: merging $set documents of one agent', () => {
  const cases: [string, SetPaths[]][] = [
    ['disjoint fields', [{ health: { healthy: true } }, { remoteConfigStatus: { status: 'APPLIED' } }]],
    ['a later value replaces an earlier one', [{ capabilities: 1 }, { capabilities: 7 }]],
    [
      'a heartbeat after a report updates the connection it wrote',
      [{ connection: { connected: true, connectionId: 'c1', lastSeenAt: 1 } }, { 'connection.lastSeenAt': 2, 'connection.sequenceNum': 5 }],
    ],
    ['a report after heartbeats replaces them', [{ 'connection.lastSeenAt': 2 }, { connection: { connected: true, lastSeenAt: 3 } }]],
    ['label paths merge key by key', [{ 'labels.a': '1' }, { 'labels.b': '2' }, { 'labels.a': '3' }]],
    ['a deep path below a written object', [{ remoteConfig: { state: 'pending', origin: 'group/x' } }, { 'remoteConfig.state': 'applied' }]],
  ];
  it.each(cases)('%s: one merged $set stores what the $sets in order store', (_name, sets) => {
    expect(applyInOrder([merged(sets)])).toEqual(applyInOrder(sets));
  });

  it('never has a path and a path below it at once (MongoDB refuses such an update)', () => {
    const out = merged([{ 'connection.lastSeenAt': 1 }, { connection: { connected: false } }, { 'connection.sequenceNum': 3 }]);
    expect(Object.keys(out)).toEqual(['connection']);
    expect(out.connection).toEqual({ connected: false, sequenceNum: 3 });
  });

  it('does not mutate a value it merges into (the session keeps it in memory)', () => {
    const connection = { connected: true, lastSeenAt: 1 };
    merged([{ connection }, { 'connection.lastSeenAt': 2 }]);
    expect(connection).toEqual({ connected: true, lastSeenAt: 1 });
  });
});
