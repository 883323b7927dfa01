import { Injectable } from '@nestjs/common';
import type { AgentConnection } from './agent-connection';

/**
 * Most instance uids one WebSocket or gRPC connection may speak for over its life: its own, and
 * the few the server assigns it (RequestInstanceUid, a clone's new uid). More is not an agent.
 */
export const MAX_UIDS_PER_CONNECTION = 4;

/**
 * Which live connection speaks for each agent on this replica. The newest connection wins: a
 * network blip can bring the new socket before the old one closes, and the old socket's close
 * must then change nothing. Each connection's uids are remembered, so that its close releases
 * every one it still holds, never only the last.
 */
@Injectable()
export class ConnectionRegistry {
  private readonly byUid = new Map<string, AgentConnection>();
  /** Uids each live connection holds now. */
  private readonly held = new Map<AgentConnection, Set<string>>();
  /** The distinct uids each live connection has bound over its life. */
  private readonly boundEver = new Map<AgentConnection, Set<string>>();

  /** Binds `uid` to `conn`; returns the connection that held it before, if another one did. */
  bind(uid: string, conn: AgentConnection): AgentConnection | undefined {
    const previous = this.byUid.get(uid);
    this.byUid.set(uid, conn);
    if (previous && previous !== conn) this.held.get(previous)?.delete(uid);
    let mine = this.held.get(conn);
    if (!mine) this.held.set(conn, (mine = new Set()));
    mine.add(uid);
    let ever = this.boundEver.get(conn);
    if (!ever) this.boundEver.set(conn, (ever = new Set()));
    ever.add(uid);
    conn.uid = uid;
    return previous !== conn ? previous : undefined;
  }

  get(uid: string): AgentConnection | undefined {
    return this.byUid.get(uid);
  }

  /** Unbinds only if `conn` still holds the uid; true when it did. */
  release(uid: string, conn: AgentConnection): boolean {
    if (this.byUid.get(uid) !== conn) return false;
    this.byUid.delete(uid);
    this.held.get(conn)?.delete(uid);
    return true;
  }

  /** The connection ended: releases every uid it still holds and returns them. */
  releaseAll(conn: AgentConnection): string[] {
    const mine = [...(this.held.get(conn) ?? [])];
    this.held.delete(conn);
    this.boundEver.delete(conn);
    return mine.filter((uid) => {
      if (this.byUid.get(uid) !== conn) return false;
      this.byUid.delete(uid);
      return true;
    });
  }

  /** Distinct uids `conn` has bound since it opened (released ones included). */
  boundCount(conn: AgentConnection): number {
    return this.boundEver.get(conn)?.size ?? 0;
  }

  /** True when `conn` has bound `uid` before (binding it again costs nothing of the limit). */
  hasBound(conn: AgentConnection, uid: string): boolean {
    return this.boundEver.get(conn)?.has(uid) ?? false;
  }

  /** Uids bound now. */
  get size(): number {
    return this.byUid.size;
  }

  /** Live connections holding at least one uid. */
  get connections(): number {
    let n = 0;
    for (const uids of this.held.values()) if (uids.size > 0) n++;
    return n;
  }

  all(): IterableIterator<[string, AgentConnection]> {
    return this.byUid.entries();
  }
}
