import { Logger } from '@nestjs/common';
import { DesiredStateEvents } from './desired-state-events';
import { TypedEventBus } from './typed-event-bus';

describe('TypedEventBus', () => {
  const quiet = () => {
    const logger = new Logger('test');
    const errors: string[] = [];
    jest.spyOn(logger, 'error').mockImplementation((m: unknown) => void errors.push(String(m)));
    return { logger, errors };
  };

  it('delivers each event to its listeners in subscription order, with its arguments', () => {
    const bus = new TypedEventBus<{ a: [number, string]; b: [] }>(quiet().logger);
    const seen: string[] = [];
    bus.on('a', (n, s) => seen.push(`1:${n}${s}`)).on('a', (n) => seen.push(`2:${n}`));
    bus.on('b', () => seen.push('b'));
    bus.emit('a', 7, 'x');
    bus.emit('b');
    expect(seen).toEqual(['1:7x', '2:7', 'b']);
  });

  it('forgets once-listeners after one event, and unsubscribes with off or the function subscribe returns', () => {
    const bus = new TypedEventBus<{ e: [number] }>(quiet().logger);
    const seen: string[] = [];
    const kept = (n: number) => seen.push(`kept ${n}`);
    bus.once('e', (n) => seen.push(`once ${n}`));
    bus.on('e', kept);
    const unsubscribe = bus.subscribe('e', (n) => seen.push(`sub ${n}`));
    bus.emit('e', 1);
    unsubscribe();
    bus.emit('e', 2);
    bus.off('e', kept);
    bus.emit('e', 3);
    expect(seen).toEqual(['once 1', 'kept 1', 'sub 1', 'kept 2']);
    expect(bus.listenerCount('e')).toBe(0);
  });

  it('logs a failing listener (thrown or rejected) and still reaches the others', async () => {
    const { logger, errors } = quiet();
    const bus = new TypedEventBus<{ e: [] }>(logger);
    const seen: string[] = [];
    bus.on('e', () => {
      throw new Error('boom');
    });
    bus.on('e', async () => {
      throw new Error('async boom');
    });
    bus.on('e', () => seen.push('reached'));
    expect(() => bus.emit('e')).not.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['reached']);
    expect(errors).toEqual([expect.stringContaining('boom'), expect.stringContaining('async boom')]);
  });

  it('carries committed changes and desired-state refreshes on the one DesiredStateEvents bus', () => {
    const events = new DesiredStateEvents();
    const seen: string[] = [];
    events.on('changed', (c) => seen.push(`changed ${c.reason}`));
    events.on('refreshed', () => seen.push('refreshed'));
    events.publish({ reason: 'agentgroup.created', groups: ['g'] });
    events.emit('refreshed');
    expect(seen).toEqual(['changed agentgroup.created', 'refreshed']);
  });
});
