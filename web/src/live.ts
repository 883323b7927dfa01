import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { ApiError, openStream } from './api';

/** What the change stream (GET /api/v1/watch) says of one resource. */
interface Change {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: { kind: string; metadata: { name: string } };
}

/** The cached queries a change makes stale: the resource's own page and the lists and counts that may show it. */
function staleKeys(c: Change): { one: unknown[]; lists: unknown[][] } {
  const name = c.object.metadata.name;
  switch (c.object.kind) {
    case 'Agent':
      // An agent's change may move the counts of the fleet's packages and of the groups' status.
      return {
        one: ['agent', name],
        lists: [['agents'], ['count', 'agents'], ['agentgroup-agents'], ['agentgroup-status'], ['fleet-packages'], ['desired-config', name]],
      };
    case 'AgentGroup':
      return { one: ['agentgroup', name], lists: [['agentgroups'], ['agentgroup-agents', name], ['agentgroup-status', name]] };
    case 'Rollout':
      return { one: ['rollout', name], lists: [['rollouts']] };
    default:
      return { one: ['remoteconfig', name], lists: [['remoteconfigs'], ['revisions', name]] };
  }
}

/** Lists are read again at most this often however fast changes come (500 agent changes a second must not mean 500 list reads). */
const LIST_REFRESH_MS = 500;

/** How soon a change waiting for a list that is still being read looks again. */
const BUSY_RECHECK_MS = 50;

function split(buffer: string): { blocks: string[]; rest: string } {
  const parts = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  return { blocks: parts.slice(0, -1), rest: parts.at(-1) ?? '' };
}

/**
 * Keeps the open pages live: follows the change stream and marks what changed stale, so that
 * React Query reads it again (only what a mounted page shows is read). Reconnects with
 * Last-Event-ID after the server ends the stream; a resume too old makes everything stale.
 */
async function follow(queries: QueryClient, signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  /** Lists a change made stale, each read again LIST_REFRESH_MS after its first change since its last read (`due`). */
  const pendingLists = new Map<string, { key: unknown[]; due: number }>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flushLists = () => {
    timer = undefined;
    const now = Date.now();
    let next = Infinity;
    for (const [id, p] of pendingLists) {
      if (p.due > now) next = Math.min(next, p.due);
      // A list or count still being read (a page of agents, a group's status: seconds on the local
      // database) is left to finish and read again once it has, so that what changed meanwhile
      // shows: cancelling and restarting it at every change would starve it under steady changes.
      else if (queries.isFetching({ queryKey: p.key }) > 0) next = Math.min(next, now + BUSY_RECHECK_MS);
      else {
        pendingLists.delete(id);
        void queries.invalidateQueries({ queryKey: p.key });
      }
    }
    if (next < Infinity) timer = setTimeout(flushLists, next - now);
  };
  const onChange = (c: Change) => {
    const { one, lists } = staleKeys(c);
    void queries.invalidateQueries({ queryKey: one });
    for (const key of lists) {
      const id = JSON.stringify(key);
      if (!pendingLists.has(id)) pendingLists.set(id, { key, due: Date.now() + LIST_REFRESH_MS });
    }
    timer ??= setTimeout(flushLists, LIST_REFRESH_MS);
  };
  while (!signal.aborted) {
    let wait = 2000;
    try {
      const res = await openStream('/watch', lastId, signal);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let live = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const { blocks, rest } = split(buffer + value);
        buffer = rest;
        for (const block of blocks) {
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('id:')) lastId = line.slice(3).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (!data) continue;
          if (event === 'message') onChange(JSON.parse(data) as Change);
          // A reconnect may have missed changes the resume could not tell: read everything shown again.
          else if (event === 'expired' || (event === 'ready' && !live && lastId !== undefined)) void queries.invalidateQueries();
          else if (event === 'end') wait = ((JSON.parse(data) as { retryAfterSeconds?: number }).retryAfterSeconds ?? 2) * 1000;
          if (event === 'ready') live = true;
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      // Signed out (401 after a failed refresh) or a viewer without the right: nothing to follow.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
  if (timer) clearTimeout(timer);
}

/** Follows the change stream while the signed-in shell is shown. */
export function useLiveUpdates(): void {
  const queries = useQueryClient();
  useEffect(() => {
    const abort = new AbortController();
    void follow(queries, abort.signal);
    return () => abort.abort();
  }, [queries]);
}
