/**
 * The feed between replicas: a replica publishes what it changed under a topic, and every other
 * replica's subscribers of that topic hear it. A publisher never hears its own messages back (it
 * has already acted on them locally). Delivery is best effort: a message published while the bus
 * is down is dropped, and the periodic reconcile repairs what it would have told.
 */
export type BusTopic = 'desired-state' | 'agent-command' | 'fleet-change' | 'telemetry';

export type BusHandler = (body: unknown, origin: string) => void;

/** Answers a request addressed to this replica; its result goes back to the asker. */
export type BusResponder = (body: unknown, origin: string) => Promise<unknown>;

/** A request could not reach the replica it was addressed to: no bus, bus down, replica gone or silent. */
export class BusUnreachableError extends Error {
  constructor(
    message: string,
    /** True when the bus itself is down (a fault worth a 503), false when the replica does not answer. */
    readonly busDown: boolean,
  ) {
    super(message);
  }
}

export abstract class EventBus {
  /** 'in-process' for one process without a bus, 'nats' with NATS_URL. */
  abstract readonly kind: 'in-process' | 'nats';
  /** False while a real bus is unreachable (messages are then dropped). */
  abstract readonly connected: boolean;
  abstract publish(topic: BusTopic, body: unknown): void;
  /** Returns the unsubscribe function. */
  abstract subscribe(topic: BusTopic, handler: BusHandler): () => void;
  /** Asks one replica and waits for its answer; rejects with BusUnreachableError when it cannot be asked or does not answer. */
  abstract request(topic: BusTopic, replicaId: string, body: unknown, timeoutMs: number): Promise<unknown>;
  /** Answers the requests of `topic` addressed to this replica. Returns the unsubscribe function. */
  abstract serve(topic: BusTopic, responder: BusResponder): () => void;
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

  async request(_topic: BusTopic, replicaId: string): Promise<unknown> {
    throw new BusUnreachableError(`replica ${replicaId} cannot be reached: this server runs without an event bus (NATS_URL unset)`, false);
  }

  serve(): () => void {
    return () => {};
  }

  async close(): Promise<void> {}
}
