import { isObject } from './resource-fields';

/**
 * `get -w`: the server has no push, so the list is polled and compared with the previous poll.
 * Each resource is reduced to a signature that leaves out what changes on every heartbeat, so a
 * watch prints real changes only.
 */

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchChange {
  event: WatchEvent;
  key: string;
}

/** Fields that move on every heartbeat or poll; a change in them alone is not a change. */
const VOLATILE_KEYS = new Set(['lastSeenAt', 'sequenceNum', 'updatedAt', 'statusTime']);

/** The resource without volatile fields, as stable JSON (keys sorted). */
export function signature(value: unknown): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (!isObject(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => !VOLATILE_KEYS.has(k))
        .sort()
        .map((k) => [k, strip(v[k])]),
    );
  };
  return JSON.stringify(strip(value));
}

/** What changed between two polls, each a map key → signature; in the order of the new poll, deletions last. */
export function diffSnapshots(prev: Map<string, string>, next: Map<string, string>): WatchChange[] {
  const changes: WatchChange[] = [];
  for (const [key, sig] of next) {
    const before = prev.get(key);
    if (before === undefined) changes.push({ event: 'ADDED', key });
    else if (before !== sig) changes.push({ event: 'MODIFIED', key });
  }
  for (const key of prev.keys()) if (!next.has(key)) changes.push({ event: 'DELETED', key });
  return changes;
}
