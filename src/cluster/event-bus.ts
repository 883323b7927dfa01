/**
 * The feed between replicas: a replica publishes what it changed under a topic, and every other
 * replica's subscribers of that topic hear it. A publisher never hears its own messages back (it
 * has already acted on them locally). Delivery is best effort: a message published while the bus
 * is down is dropped, and the periodic reconcile repairs what it would have told.
 */
export type BusTopic = 'desired-state' | 'agent-command' | 'fleet-change';

export type BusHandler = (body: unknown, origin: string) => void;

export abstract class EventBus {
  /** 'in-process' for one process without a bus, 'nats' with NATS_URL. */
  abstract readonly kind: 'in-process' | 'nats';
  /** False while a real bus is unreachable (messages are then dropped). */
  abstract readonly connected: boolean;
  abstract publish(topic: BusTopic, body: unknown): void;
  /** Returns the unsubscribe function. */
  abstract subscribe(topic: BusTopic, handler: BusHandler): () => void;
  abstract close(): Promise<void>;
}

/** One process: no other replica to tell, so publishing is a no-op and subscribers never hear anything. */
export class InProcessEventBus extends EventBus {
  readonly kind = 'in-process' as const;
  readonly connected = true;

  publish(): void {}

  subscribe(): () => void {
    return () => {};
  }

  async close(): Promise<void> {}
}
