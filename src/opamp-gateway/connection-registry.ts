import { Injectable } from '@nestjs/common';
import type { AgentConnection } from './agent-connection';

/**
 * Which live connection speaks for each agent on this replica. The newest connection wins: a
 * network blip can bring the new socket before the old one closes, and the old socket's close
 * must then change nothing.
 */
@Injectable()
export class ConnectionRegistry {
  private readonly byUid = new Map<string, AgentConnection>();

  bind(uid: string, conn: AgentConnection): AgentConnection | undefined {
    const previous = this.byUid.get(uid);
    this.byUid.set(uid, conn);
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
    return true;
  }

  get size(): number {
    return this.byUid.size;
  }

  all(): IterableIterator<[string, AgentConnection]> {
    return this.byUid.entries();
  }
}
