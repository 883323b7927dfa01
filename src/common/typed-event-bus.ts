import { Logger } from '@nestjs/common';

/** Event names and the arguments each carries. */
export type EventMap = Record<string, unknown[]>;

export type EventListener<A extends unknown[]> = (...args: A) => unknown;

interface Subscription {
  listener: EventListener<never[]>;
  once: boolean;
}

/**
 * The project's one in-process publish/subscribe, typed by an event map. Listeners run
 * synchronously inside `emit`, in subscription order. A listener that throws, or whose promise
 * rejects, is logged and never fails the publisher or stops the listeners after it: a committed
 * change is never reported as failed because someone reacting to it failed.
 */
export class TypedEventBus<M extends EventMap> {
  private readonly subscriptions = new Map<keyof M, Subscription[]>();

  constructor(private readonly logger: Logger) {}

  on<K extends keyof M>(event: K, listener: EventListener<M[K]>): this {
    return this.add(event, listener, false);
  }

  /** Like `on`, for the next event only. */
  once<K extends keyof M>(event: K, listener: EventListener<M[K]>): this {
    return this.add(event, listener, true);
  }

  /** Removes one subscription of `listener` (the latest). */
  off<K extends keyof M>(event: K, listener: EventListener<M[K]>): this {
    const list = this.subscriptions.get(event);
    const i = list ? list.map((s) => s.listener).lastIndexOf(listener as EventListener<never[]>) : -1;
    if (list && i >= 0) list.splice(i, 1);
    return this;
  }

  /** `on`, returning the function that unsubscribes. */
  subscribe<K extends keyof M>(event: K, listener: EventListener<M[K]>): () => void {
    this.on(event, listener);
    return () => void this.off(event, listener);
  }

  listenerCount(event: keyof M): number {
    return this.subscriptions.get(event)?.length ?? 0;
  }

  /** Calls every listener of `event` with `args`, isolating the caller from their failures. */
  emit<K extends keyof M>(event: K, ...args: M[K]): void {
    const list = this.subscriptions.get(event);
    if (!list || list.length === 0) return;
    // A listener may subscribe or unsubscribe while this runs: go through the ones there now.
    for (const s of [...list]) {
      if (s.once) {
        const i = list.indexOf(s);
        if (i >= 0) list.splice(i, 1);
      }
      try {
        const r = (s.listener as EventListener<M[K]>)(...args);
        if (r instanceof Promise) r.catch((e) => this.failed(event, e));
      } catch (e) {
        this.failed(event, e);
      }
    }
  }

  private add<K extends keyof M>(event: K, listener: EventListener<M[K]>, once: boolean): this {
    let list = this.subscriptions.get(event);
    if (!list) this.subscriptions.set(event, (list = []));
    list.push({ listener: listener as EventListener<never[]>, once });
    return this;
  }

  private failed(event: keyof M, e: unknown): void {
    this.logger.error(`${String(event)} listener failed: ${e instanceof Error ? e.stack : e}`);
  }
}
