import { Command, Option } from 'commander';
import { ApiError, errorLine, NetworkError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { columnsFor, formatResources, OutputFormat, rowOf, toJson, toYaml } from '../printers';
import { Resource } from '../resource-fields';
import { ColumnDef, nameOf, qualifiedName, resolveResourceType, ResourceType } from '../resource-types';
import { renderTable, TableColumn } from '../table';
import { EventStreamParser } from '../event-stream';
import { diffSnapshots, signature, WatchEvent } from '../watch-diff';
import { action, duration, outputOption, positiveInt, ProgramContext, sleep } from './command-kit';
import { getByNames, itemPath, ListFilters, listResources } from './resource-reader';

interface GetOptions extends ListFilters {
  output?: OutputFormat;
  watch?: boolean;
  watchInterval?: number;
  timeout?: number;
  outputWatchEvents?: boolean;
  watchPoll?: boolean;
  headers: boolean;
  revision?: number;
}

/** Adds the list filters shared by get (and, in part, delete). */
export function addListOptions(cmd: Command): Command {
  return cmd
    .option('-l, --selector <selector>', 'label selector: k=v, k!=v, k in (a,b), k notin (a,b), k, !k (comma-separated)')
    .option('--all', 'every page, following continue cursors')
    .option('--limit <n>', 'items in one page (server default 100)', positiveInt)
    .option('--continue <token>', 'the continue token of the previous page')
    .option('--include-deleted', 'also soft-deleted agent groups and remote configs')
    .option('--connected', 'agents: only connected ones')
    .option('--disconnected', 'agents: only disconnected ones')
    .option('--healthy', 'agents: only healthy ones')
    .option('--unhealthy', 'agents: only unhealthy ones')
    .addOption(new Option('--transport <transport>', 'agents: only this transport').choices(['websocket', 'http', 'grpc']))
    .option('--group <name>', 'agents: only those the agent group selects')
    .option('--search <text>', 'agents: free text in uid and attribute values')
    .addOption(
      new Option('--condition <type>', 'agents: only those whose condition of this type is True').choices([
        'ConfigDrift',
        'Idle',
        'ExportFailing',
        'Stale',
        'Restarting',
      ]),
    )
    .addOption(
      new Option('--sort-by <key>', 'agents: order (- for descending)').choices([
        'uid',
        '-uid',
        'lastSeen',
        '-lastSeen',
        'firstSeen',
        '-firstSeen',
        'acceptedRate',
        '-acceptedRate',
        'sentRate',
        '-sentRate',
        'exportFailureRatio',
        '-exportFailureRatio',
      ]),
    )
    .option('--actor <user>', 'audit: only changes made by this user')
    .option('--action <action>', 'audit: create, replace, update, delete, login, logout, revoke, rollback, …')
    .option('--resource <type[/name]>', 'audit: only changes to this resource type (and name)')
    .option('--since <time>', 'audit: only entries since a duration ago (1h) or an ISO 8601 time')
    .option('--until <time>', 'audit: only entries before an ISO 8601 time');
}

/** `opampctl get TYPE [NAME...]`. */
export function getCommand(ctx: ProgramContext): Command {
  const cmd = new Command('get')
    .description('list resources, or show some by name (types: opampctl api-resources)')
    .argument('<type>', 'resource type: agents|ag, agentgroups|grp, remoteconfigs|rc, history NAME, rollouts|ro, tokens, users, audit')
    .argument('[names...]', 'names (for history: the remote config, then an optional revision)')
    .addOption(outputOption())
    .option('-w, --watch', "after listing, print what changes as the server's change stream tells it (Ctrl-C stops)")
    .option('--watch-poll', 'with --watch: poll instead of following the change stream (as with a server that has none)')
    .addOption(new Option('--watch-interval <duration>', 'how often a polling watch polls').argParser(duration).default(2000, '2s'))
    .option('--timeout <duration>', 'stop a watch after this long', duration)
    .option('--output-watch-events', 'with --watch: add an EVENT column (ADDED, MODIFIED, DELETED)')
    .option('--no-headers', 'tables without the header line')
    .option('--revision <n>', 'history: one revision (with its body)', positiveInt);
  addListOptions(cmd);
  return cmd.action(
    action(ctx, async (rt, o: GetOptions, type: string, names: string[]) => {
      const t = resolveResourceType(type);
      const format: OutputFormat = o.output ?? 'table';
      const fetch = fetcher(rt, t, names, o);
      if (o.watch) {
        await watch(rt, t, format, o, fetch);
        return;
      }
      const { items, single, remaining, cont } = await fetch();
      if (!items.length && names.length && !t.parent) return; // each missing name was reported
      if (!items.length && !single && format !== 'json' && format !== 'yaml') {
        rt.err(o.selector || o.group ? 'No resources found matching the filters.' : 'No resources found.');
        return;
      }
      rt.out(formatResources(t, items, { format, width: rt.tableWidth, headers: o.headers }, single));
      if (cont) rt.err(`(${remaining ?? 'more'} more; use --all, or --continue ${cont})`);
    }),
  );
}

interface Snapshot {
  items: Resource[];
  single: boolean;
  remaining?: number;
  cont?: string;
}

/** How `get` reads what it shows: named resources, a revision, or a (filtered) list. */
function fetcher(rt: CliRuntime, t: ResourceType, names: string[], o: GetOptions): () => Promise<Snapshot> {
  if (t.parent) {
    if (!names.length) throw new UsageError('get history needs the name of a remote config (get history NAME [REVISION])');
    if (names.length > 2) throw new UsageError('get history takes a remote config name and at most one revision');
    const revision = o.revision ?? (names[1] !== undefined ? Number(names[1]) : undefined);
    if (revision !== undefined && !(Number.isInteger(revision) && revision > 0)) throw new UsageError(`"${names[1]}" is not a revision number`);
    if (revision !== undefined) return async () => ({ items: [await rt.client.get<Resource>(itemPath(t, names[0], revision))], single: true });
    return async () => {
      const list = await listResources(rt, t, o, names[0]);
      return { items: list.items, single: false, remaining: list.metadata?.remainingItemCount, cont: list.metadata?.continue };
    };
  }
  if (names.length) {
    if (o.selector) throw new UsageError('names and --selector cannot be combined');
    return async () => ({ items: await getByNames(rt, t, names, o.includeDeleted, Boolean(o.watch)), single: names.length === 1 });
  }
  // json and yaml print whole resources, as a get by name does; tables need only the summaries.
  const full = o.output === 'json' || o.output === 'yaml';
  return async () => {
    const list = await listResources(rt, t, { ...o, full });
    return { items: list.items, single: false, remaining: list.metadata?.remainingItemCount, cont: list.metadata?.continue };
  };
}

/** `-w`: print the current state, then each change found by polling, until Ctrl-C or --timeout. */
async function watch(rt: CliRuntime, t: ResourceType, format: OutputFormat, o: GetOptions, fetch: () => Promise<Snapshot>): Promise<void> {
  const columns: ColumnDef[] = columnsFor(t, format === 'wide', Boolean(o.includeDeleted));
  const withEvents = Boolean(o.outputWatchEvents);
  const tableColumns: TableColumn[] = withEvents ? [{ header: 'EVENT' }, ...columns] : columns;
  let widths: number[] | undefined;
  const keyOf = (r: Resource) => nameOf(t, r);
  // What a table row shows, without ages: a change of age alone is not printed.
  const sig = (r: Resource) => (format === 'table' || format === 'wide' ? JSON.stringify(columns.map((c) => (c.volatile ? '' : c.value(r, 0)))) : signature(r));

  let headerPrinted = !o.headers;
  /** Prints one poll's changes; a table's rows share one render so that they line up. */
  const print = (changes: { event: WatchEvent; r: Resource }[]) => {
    if (format === 'table' || format === 'wide') {
      const now = Date.now();
      const rows = changes.map(({ event, r }) => (withEvents ? [event, ...rowOf(columns, r, now)] : rowOf(columns, r, now)));
      const { lines, widths: used } = renderTable(tableColumns, rows, { headers: !headerPrinted, widths, maxWidth: rt.tableWidth });
      headerPrinted = true;
      widths = used;
      if (lines.length) rt.out(lines.join('\n'));
      return;
    }
    for (const { event, r } of changes) {
      if (format === 'json') rt.out(withEvents ? toJson({ type: event, object: r }) : toJson(r));
      else if (format === 'yaml') rt.out(`---\n${toYaml(withEvents ? { type: event, object: r } : r)}`);
      else rt.out(withEvents ? `${event} ${qualifiedName(t, r)}` : qualifiedName(t, r));
    }
  };

  let previous = new Map<string, { sig: string; r: Resource }>();
  let first = true;
  /** Prints what changed since the last snapshot (everything, the first time). */
  const apply = (snap: Snapshot) => {
    const next = new Map(snap.items.map((r) => [keyOf(r), { sig: sig(r), r }]));
    const changes = first
      ? [...next.keys()].map((key) => ({ event: 'ADDED' as WatchEvent, key }))
      : diffSnapshots(new Map([...previous].map(([k, v]) => [k, v.sig])), new Map([...next].map(([k, v]) => [k, v.sig])));
    if (first && !changes.length && format !== 'json' && format !== 'yaml') rt.err('No resources found; watching for changes.');
    if (changes.length) print(changes.map((c) => ({ event: c.event, r: (c.event === 'DELETED' ? previous.get(c.key) : next.get(c.key))!.r })));
    previous = next;
    first = false;
  };
  /** Reads and prints; a server that is down, overloaded or restarting may come back, anything else ends the watch. */
  const refresh = async () => {
    try {
      apply(await fetch());
    } catch (err) {
      const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
      if (!transient) throw err;
      rt.err(errorLine(err));
    }
  };

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const timer = o.timeout ? setTimeout(onSignal, o.timeout) : undefined;
  const pause = async (ms: number) => {
    for (let slept = 0; !abort.signal.aborted && slept < ms; slept += 100) await sleep(Math.min(100, ms - slept));
  };
  try {
    // The server's change stream when it has one for this type: a read only when something changed.
    if (!t.parent && STREAMED_TYPES.has(t.plural) && !o.watchPoll && (await followStream(rt, t.plural, refresh, abort.signal, pause))) return;
    const interval = o.watchInterval ?? 2000;
    while (!abort.signal.aborted) {
      await refresh();
      await pause(interval);
    }
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The types GET /api/v1/watch follows. */
const STREAMED_TYPES: ReadonlySet<string> = new Set(['agents', 'agentgroups', 'remoteconfigs']);

/**
 * Follows GET /api/v1/watch?kinds=<plural>: lists after each `ready` (the start, a resume, an
 * expired resume token), and again after each batch of changes that arrives while live; reconnects
 * with Last-Event-ID when the server ends the stream. False when the server has no stream
 * (an older version: 404), so the caller polls instead.
 */
async function followStream(
  rt: CliRuntime,
  kind: string,
  refresh: () => Promise<void>,
  signal: AbortSignal,
  pause: (ms: number) => Promise<void>,
): Promise<boolean> {
  let lastId: string | undefined;
  let opened = false;
  while (!signal.aborted) {
    let res: Response;
    try {
      res = await rt.client.openStream('/watch', { kinds: kind }, lastId, signal);
    } catch (err) {
      if (signal.aborted) return true;
      if (!opened && err instanceof ApiError && (err.status === 404 || err.status === 405)) return false;
      const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
      if (!transient) throw err;
      rt.err(errorLine(err));
      await pause(((err as { retryAfter?: number }).retryAfter ?? 2) * 1000);
      continue;
    }
    opened = true;
    const parser = new EventStreamParser();
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    let live = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        let changed = false;
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          if (ev.id) lastId = ev.id;
          if (ev.event === 'ready') {
            live = true;
            changed = true;
          } else if (ev.event === 'message' && live) changed = true;
          else if (ev.event === 'end') rt.err(`watch: the server ended the stream (${endReason(ev.data)}); reconnecting`);
        }
        // One read for every change that arrived together.
        if (changed) await refresh();
      }
    } catch (err) {
      if (signal.aborted) return true;
      rt.err(`watch: the stream broke (${err instanceof Error ? err.message : err}); reconnecting`);
    }
    await pause(1000);
  }
  return true;
}

function endReason(data: string): string {
  try {
    return String((JSON.parse(data) as { reason?: unknown }).reason ?? 'no reason');
  } catch {
    return 'no reason';
  }
}
