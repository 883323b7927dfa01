import { CountSnapshot, groupInMemory } from './count-snapshot';

interface Doc {
  _id: string;
  selectorTerms?: string[];
  remoteConfig?: { state?: string; origin?: string };
  connection?: { connected?: boolean; lastSeenAt?: Date };
  description?: unknown;
}

const FIELDS = ['_id', 'selectorTerms', 'remoteConfig.state', 'remoteConfig.origin', 'connection.connected', 'connection.lastSeenAt'];

/** A collection the test changes, a clock it moves, and reads it can hold open. */
function fixture(maxAgeMs: number) {
  const state = { docs: [] as Doc[], now: 1_000_000, reads: 0, hold: undefined as Promise<void> | undefined };
  const snapshot = new CountSnapshot<Doc>(
    FIELDS,
    async () => {
      state.reads++;
      const copy = [...state.docs];
      if (state.hold) await state.hold;
      return copy;
    },
    maxAgeMs,
    () => state.now,
  );
  return { state, snapshot };
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('CountSnapshot', () => {
  it('counts with MongoDB matching rules: array terms, $nin, $nor, null for missing, $and of parts, dates', async () => {
    const { state, snapshot } = fixture(10_000);
    state.docs = [
      {
        _id: 'a',
        selectorTerms: ['team', 'team=pay'],
        remoteConfig: { state: 'applied', origin: 'group/g' },
        connection: { connected: true, lastSeenAt: new Date(5000) },
      },
      {
        _id: 'b',
        selectorTerms: ['team', 'team=search'],
        remoteConfig: { state: 'failed', origin: 'group/g' },
        connection: { connected: true, lastSeenAt: new Date(1000) },
      },
      { _id: 'c', selectorTerms: [] },
    ];
    expect(await snapshot.count()).toBe(3);
    expect(await snapshot.count({ selectorTerms: 'team=pay' })).toBe(1);
    expect(await snapshot.count({ selectorTerms: { $nin: ['team=pay'] } })).toBe(2);
    expect(await snapshot.count({ 'remoteConfig.state': null })).toBe(1);
    expect(await snapshot.count({ $nor: [{ selectorTerms: { $in: ['team=pay', 'team=search'] } }] })).toBe(1);
    expect(
      await snapshot.count({
        $and: [{ selectorTerms: 'team' }, { $and: [{ 'connection.connected': true }, { 'connection.lastSeenAt': { $gte: new Date(2000) } }] }],
      }),
    ).toBe(1);
    // A later date in the same shape is a different filter (not the remembered match of the first).
    expect(await snapshot.count({ $and: [{ selectorTerms: 'team' }, { 'connection.lastSeenAt': { $gte: new Date(500) } }] })).toBe(2);
    expect(await snapshot.count({ _id: /^[ab]$/ })).toBe(2);
    expect(await snapshot.count({ _id: { $gt: 'a' } })).toBe(2);
    expect(state.reads).toBe(1);
  });

  it('groups as $group does: one row per combination of the key paths, missing values left out', async () => {
    const { state, snapshot } = fixture(10_000);
    state.docs = [
      { _id: 'a', remoteConfig: { state: 'applied', origin: 'group/g' } },
      { _id: 'b', remoteConfig: { state: 'applied', origin: 'group/g' } },
      { _id: 'c', remoteConfig: { state: 'applied', origin: 'agent' } },
      { _id: 'd' },
    ];
    const rows = await snapshot.countGrouped<{ s?: string; o?: string }>(undefined, { s: '$remoteConfig.state', o: '$remoteConfig.origin' });
    expect(rows.sort((x, y) => y.n - x.n || String(x._id.o).localeCompare(String(y._id.o)))).toEqual([
      { _id: { s: 'applied', o: 'group/g' }, n: 2 },
      { _id: { s: 'applied', o: 'agent' }, n: 1 },
      { _id: {}, n: 1 },
    ]);
    expect(await snapshot.countGrouped(undefined, { s: '$remoteConfig.state' })).toHaveLength(2);
    expect(await snapshot.countGrouped({ _id: { $in: ['a', 'c'] } }, { s: '$remoteConfig.state' })).toEqual([{ _id: { s: 'applied' }, n: 2 }]);
  });

  it('covers only filters on the fields it read', () => {
    const { snapshot } = fixture(10_000);
    expect(snapshot.covers({})).toBe(true);
    expect(snapshot.covers({ $and: [{ selectorTerms: 'a' }, { $or: [{ 'connection.connected': true }, { 'remoteConfig.state': { $in: ['x'] } }] }] })).toBe(
      true,
    );
    expect(snapshot.covers({ 'remoteConfig.state.sub': 1 })).toBe(true);
    // Not read: a field elsewhere, a whole sub-document of which only some fields are read, operators evaluated by the server only.
    expect(snapshot.covers({ $or: [{ _id: /x/ }, { 'description.identifying.value': /x/ }] })).toBe(false);
    expect(snapshot.covers({ remoteConfig: null })).toBe(false);
    expect(snapshot.covers({ $where: 'true' })).toBe(false);
  });

  it('answers from a read up to the max age old, reading again in the background past half of it: a change shows within the max age', async () => {
    const { state, snapshot } = fixture(10_000);
    state.docs = [{ _id: 'a', remoteConfig: { state: 'applying' } }];
    expect(await snapshot.count({ 'remoteConfig.state': 'applied' })).toBe(0);
    state.docs = [{ _id: 'a', remoteConfig: { state: 'applied' } }, { _id: 'b' }];
    // Younger than half the max age: the read is used as it is, nothing read again.
    state.now += 5_000;
    expect(await snapshot.count({ 'remoteConfig.state': 'applied' })).toBe(0);
    expect(state.reads).toBe(1);
    // Past half: answered from the read (still within the max age), the next read started meanwhile.
    state.now += 1;
    expect(await snapshot.count({ 'remoteConfig.state': 'applied' })).toBe(0);
    expect(state.reads).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(await snapshot.count({ 'remoteConfig.state': 'applied' })).toBe(1);
    expect(await snapshot.count()).toBe(2);
    expect(state.reads).toBe(2);
  });

  it('never answers from a read older than the max age: a caller after a quiet spell waits for a new read', async () => {
    const { state, snapshot } = fixture(10_000);
    state.docs = [{ _id: 'a' }];
    expect(await snapshot.count()).toBe(1);
    state.docs = [{ _id: 'a' }, { _id: 'b' }];
    state.now += 10_000;
    // Exactly the max age old: still served (and the next read started in the background).
    expect(await snapshot.count()).toBe(1);
    state.now += 1;
    state.docs = [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }];
    await new Promise((r) => setImmediate(r));
    // The background read started at the previous call (10,000 ms after the first) is young enough.
    expect(await snapshot.count()).toBe(2);
    state.now += 10_001;
    expect(await snapshot.count()).toBe(3);
    expect(state.reads).toBe(3);
  });

  it('shares one read in flight among all callers, whatever they count', async () => {
    const { state, snapshot } = fixture(10_000);
    state.docs = [{ _id: 'a' }, { _id: 'b', selectorTerms: ['x'] }];
    const g = gate();
    state.hold = g.p;
    const asked = Array.from({ length: 50 }, (_, i) => (i % 2 ? snapshot.count({ selectorTerms: 'x' }) : snapshot.count()));
    await Promise.resolve();
    g.open();
    const counts = await Promise.all(asked);
    expect(counts.filter((n) => n === 2)).toHaveLength(25);
    expect(counts.filter((n) => n === 1)).toHaveLength(25);
    expect(state.reads).toBe(1);
    expect(snapshot.readCount).toBe(1);
  });

  it('never runs two reads at once: a caller for whom the read in flight is too old waits for it, then reads again', async () => {
    const { state, snapshot } = fixture(0);
    state.docs = [{ _id: 'a' }];
    const g1 = gate();
    state.hold = g1.p;
    const first = snapshot.count();
    await Promise.resolve();
    // The write this caller has seen acknowledged comes after the first read started.
    state.docs = [{ _id: 'a' }, { _id: 'b' }];
    state.now += 1;
    const g2 = gate();
    const second = snapshot.count();
    const third = snapshot.count();
    await new Promise((r) => setImmediate(r));
    expect(state.reads).toBe(1);
    state.hold = g2.p;
    g1.open();
    expect(await first).toBe(1);
    await new Promise((r) => setImmediate(r));
    // The two later callers share the one read started after the first ended.
    expect(state.reads).toBe(2);
    g2.open();
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(state.reads).toBe(2);
  });

  it('a failed read fails its callers and the next caller reads again', async () => {
    let fail = true;
    let reads = 0;
    const snapshot = new CountSnapshot<{ _id: string }>(
      ['_id'],
      async () => {
        reads++;
        if (fail) throw new Error('database down');
        return [{ _id: 'a' }];
      },
      10_000,
    );
    await expect(snapshot.count()).rejects.toThrow('database down');
    fail = false;
    expect(await snapshot.count()).toBe(1);
    expect(reads).toBe(2);
  });
});

describe('groupInMemory (the grouped counts and sums of the snapshot)', () => {
  it('groups by the key (arrays as whole values), counts, and sums only finite numbers, as $group with $sum does', () => {
    const docs = [
      { g: 'a', t: { r: 1.5, c: ['Idle'] } },
      { g: 'a', t: { r: 2, c: ['Idle'] } },
      { g: 'a', t: { r: 'x' } },
      { g: 'a' },
      { g: 'b', t: { r: Infinity, c: [] } },
    ];
    const rows = groupInMemory<{ g: string; c?: string[] }>(docs, { g: '$g', c: '$t.c' }, { r: '$t.r' });
    expect(rows).toEqual([
      { _id: { g: 'a', c: ['Idle'] }, n: 2, sums: { r: 3.5 } },
      { _id: { g: 'a' }, n: 2, sums: { r: 0 } },
      { _id: { g: 'b', c: [] }, n: 1, sums: { r: 0 } },
    ]);
    expect(groupInMemory(docs, { g: '$g' })).toEqual([
      { _id: { g: 'a' }, n: 4 },
      { _id: { g: 'b' }, n: 1 },
    ]);
  });
});
