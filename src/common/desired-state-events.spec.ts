import { DesiredStateChange, DesiredStateEvents } from './desired-state-events';

describe('DesiredStateEvents', () => {
  it('delivers each change to every listener, once-listeners once', () => {
    const events = new DesiredStateEvents();
    const seen: DesiredStateChange[] = [];
    const once: DesiredStateChange[] = [];
    events.on('changed', (c) => seen.push(c));
    events.once('changed', (c) => once.push(c));
    events.publish({ reason: 'agentgroup.created', groups: ['g'] });
    events.publish({ reason: 'remoteconfig.revised', configs: ['c'], groups: [] });
    expect(seen).toEqual([
      { reason: 'agentgroup.created', groups: ['g'] },
      { reason: 'remoteconfig.revised', configs: ['c'], groups: [] },
    ]);
    expect(once).toHaveLength(1);
    expect(events.listenerCount('changed')).toBe(1);
  });

  it('keeps a failing listener from failing the publisher or the other listeners', async () => {
    const events = new DesiredStateEvents();
    const seen: string[] = [];
    events.on('changed', () => {
      throw new Error('boom');
    });
    events.on('changed', async () => {
      throw new Error('async boom');
    });
    events.on('changed', (c) => seen.push(c.reason));
    expect(() => events.publish({ reason: 'agentgroup.deleted', groups: ['g'] })).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['agentgroup.deleted']);
  });
});
