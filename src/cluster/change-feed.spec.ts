import { DesiredStateEvents } from '../common/desired-state-events';
import type { AppConfig } from '../config/app-config';
import { ChangeFeed, parseResourceChange, ResourceChange } from './change-feed';
import { DesiredStateBridge } from './desired-state-bridge';
import { BusHandler, BusTopic, InProcessEventBus } from './event-bus';

function feed(historyEvents = 10) {
  const events = new DesiredStateEvents();
  const bus = new InProcessEventBus();
  const f = new ChangeFeed(bus, events, new DesiredStateBridge(events, bus), { watch: { historyEvents } } as AppConfig);
  f.onApplicationBootstrap();
  const heard: ResourceChange[] = [];
  f.listen((c) => heard.push(c));
  return { f, events, heard };
}

describe('ChangeFeed', () => {
  it('tells group and config changes as ADDED/MODIFIED/DELETED, and an agent status only when it changed', () => {
    const { f, events, heard } = feed();
    events.publish({ reason: 'agentgroup.created', groups: ['g'] });
    events.publish({ reason: 'remoteconfig.deleted', configs: ['c'] });
    f.agentStatus('a1', { connected: true, transport: 'websocket', healthy: true });
    f.agentStatus('a1', { connected: true, transport: 'websocket' }); // a report without health: nothing new
    f.agentStatus('a1', { connected: true, transport: 'websocket', healthy: false });
    f.agentStatus('a1', { connected: false });
    expect(heard.map((c) => [c.type, c.kind, c.object.metadata.name, c.object.status?.healthy, c.object.status?.connected])).toEqual([
      ['ADDED', 'agentgroups', 'g', undefined, undefined],
      ['DELETED', 'remoteconfigs', 'c', undefined, undefined],
      ['MODIFIED', 'agents', 'a1', true, true],
      ['MODIFIED', 'agents', 'a1', false, true],
      ['MODIFIED', 'agents', 'a1', undefined, false],
    ]);
  });

  it("tells an agent's package changes (an install's status), not its download progress", () => {
    const { f, heard } = feed();
    const pkg = (status: string, version = '1.0.0') => [{ name: 'otelcol', version, status }];
    f.agentStatus('a1', { connected: true, transport: 'websocket', packages: pkg('INSTALLED') });
    f.agentStatus('a1', { connected: true, transport: 'websocket', healthy: true }); // no package statuses in this report: still as told
    f.agentStatus('a1', { connected: true, transport: 'websocket', packages: pkg('DOWNLOADING') });
    f.agentStatus('a1', { connected: true, transport: 'websocket', packages: pkg('DOWNLOADING') }); // progress only: the same facts
    f.agentStatus('a1', { connected: true, transport: 'websocket', packages: pkg('INSTALLED', '1.1.0') });
    expect(heard.map((c) => c.object.status?.packages)).toEqual([pkg('INSTALLED'), pkg('INSTALLED'), pkg('DOWNLOADING'), pkg('INSTALLED', '1.1.0')]);
  });

  it('resumes after a known id, from the start of its series before any event, and not after one it has dropped', () => {
    const { f, events, heard } = feed(10);
    const start = f.latestId;
    for (let i = 0; i < 5; i++) events.publish({ reason: 'agentgroup.created', groups: [`g${i}`] });
    expect(f.since(start)?.map((c) => c.object.metadata.name)).toEqual(['g0', 'g1', 'g2', 'g3', 'g4']);
    expect(f.since(heard[2].id)?.map((c) => c.object.metadata.name)).toEqual(['g3', 'g4']);
    for (let i = 5; i < 30; i++) events.publish({ reason: 'agentgroup.created', groups: [`g${i}`] });
    expect(f.since(heard[0].id)).toBeUndefined();
    expect(f.since(start)).toBeUndefined();
    expect(f.since(f.latestId)).toEqual([]);
    expect(f.since(heard[25].id)?.length).toBe(4);
  });

  it('tells an HTTP agent connected again after another replica told it disconnected', () => {
    const events = new DesiredStateEvents();
    const handlers: BusHandler[] = [];
    // The in-process bus hears nothing; this one hands the test the feed's bus handler.
    const bus = Object.assign(new InProcessEventBus(), {
      subscribe: (_topic: BusTopic, handler: BusHandler) => {
        handlers.push(handler);
        return () => {};
      },
    });
    const f = new ChangeFeed(bus, events, new DesiredStateBridge(events, bus), { watch: { historyEvents: 10 } } as AppConfig);
    f.onApplicationBootstrap();
    const heard: ResourceChange[] = [];
    f.listen((c) => heard.push(c));
    f.agentStatus('h1', { connected: true, transport: 'http' });
    handlers.forEach((h) =>
      h(
        {
          id: 'other-1',
          type: 'MODIFIED',
          kind: 'agents',
          object: { kind: 'Agent', apiVersion: 'v1', metadata: { name: 'h1' }, status: { connected: false } },
        },
        'b',
      ),
    );
    f.agentStatus('h1', { connected: true, transport: 'http' });
    expect(heard.map((c) => [c.id.startsWith('other') ? 'b' : 'here', c.object.status?.connected])).toEqual([
      ['here', true],
      ['b', false],
      ['here', true],
    ]);
  });

  it('takes from the bus only well-formed changes', () => {
    const good = {
      id: 'ab-1',
      type: 'MODIFIED',
      kind: 'agents',
      object: { kind: 'Agent', apiVersion: 'v1', metadata: { name: 'x' }, status: { connected: true } },
    };
    expect(parseResourceChange(good)).toEqual(good);
    expect(parseResourceChange({ ...good, kind: 'users' })).toBeUndefined();
    expect(parseResourceChange({ ...good, object: { ...good.object, kind: 'AgentGroup' } })).toBeUndefined();
    expect(parseResourceChange({ ...good, object: { ...good.object, status: { connected: 'yes' } } })).toBeUndefined();
    expect(parseResourceChange('nope')).toBeUndefined();
  });
});
