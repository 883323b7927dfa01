import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, type ResourceList } from '../api';
import { ProblemMessage } from '../components/ProblemMessage';
import { attr, healthWord, when } from '../format';
import type { Agent, AgentGroup } from '../types';
import { useSelectorCompletions } from '../selector-completion';
import { useUrlParams } from '../url-params';

/** Query parameters of GET /api/v1/agents that the URL carries, so that a view can be shared. */
const FILTERS = ['selector', 'connected', 'healthy', 'transport', 'configState', 'condition', 'group', 'package', 'sort', 'continue'] as const;
const PAGE_SIZE = 50;

/** The columns a user may show or hide (the uid always shows); `cols` in the URL lists the shown ones. */
const COLUMNS: { id: string; label: string; cell: (a: Agent) => string }[] = [
  { id: 'service', label: 'Service', cell: (a) => attr(a.status.description?.identifyingAttributes, 'service.name') },
  { id: 'version', label: 'Version', cell: (a) => attr(a.status.description?.identifyingAttributes, 'service.version') },
  { id: 'host', label: 'Host', cell: (a) => attr(a.status.description?.nonIdentifyingAttributes, 'host.name') },
  { id: 'os', label: 'OS', cell: (a) => attr(a.status.description?.nonIdentifyingAttributes, 'os.type') },
  { id: 'transport', label: 'Transport', cell: (a) => a.status.connection.transport ?? '' },
  { id: 'connection', label: 'Connection', cell: (a) => (a.status.connected ? 'connected' : 'disconnected') },
  { id: 'health', label: 'Health', cell: (a) => healthWord(a.status.health?.healthy) },
  { id: 'config', label: 'Config', cell: (a) => a.status.remoteConfig?.state ?? '—' },
  {
    id: 'labels',
    label: 'Labels',
    cell: (a) =>
      Object.entries(a.metadata.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
  },
  { id: 'lastSeen', label: 'Last seen', cell: (a) => when(a.status.connection.lastSeenAt) },
  { id: 'accepted', label: 'Accepted/s', cell: (a) => perSecond(a.status.ownTelemetry?.acceptedPerSecond) },
  { id: 'sent', label: 'Sent/s', cell: (a) => perSecond(a.status.ownTelemetry?.sentPerSecond) },
  {
    id: 'exportFailures',
    label: 'Export failures',
    cell: (a) => (a.status.ownTelemetry ? `${Math.round(a.status.ownTelemetry.exportFailureRatio * 100)} %` : '—'),
  },
  { id: 'telemetry', label: 'Telemetry', cell: (a) => (a.status.ownTelemetry ? a.status.ownTelemetry.conditions.join(', ') || 'ok' : '—') },
];

/** The columns the URL shows (`cols`), or the default ones. */
function shownColumns(params: URLSearchParams): string[] {
  return (
    params
      .get('cols')
      ?.split(',')
      .filter((c) => COLUMNS.some((x) => x.id === c)) ?? DEFAULT_COLUMNS
  );
}

/** A stored rate (within a factor of two of the current one, see status.ownTelemetry). */
function perSecond(rate: number | undefined): string {
  if (rate === undefined) return '—';
  return rate >= 100 ? String(Math.round(rate)) : String(Math.round(rate * 10) / 10);
}
const DEFAULT_COLUMNS = ['service', 'version', 'host', 'transport', 'connection', 'health', 'config', 'lastSeen'];

export function AgentsPage() {
  const [params, changeParams] = useUrlParams();
  const query = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? undefined]));
  const [selector, setSelector] = useState(query.selector ?? '');
  const completions = useSelectorCompletions(selector);
  const shown = shownColumns(params);
  const columns = COLUMNS.filter((c) => shown.includes(c.id));
  const groups = useQuery({ queryKey: ['agentgroups'], queryFn: () => api<ResourceList<AgentGroup>>('/agentgroups', { query: { limit: 200 } }) });
  const list = useQuery({
    queryKey: ['agents', query],
    queryFn: () => api<ResourceList<Agent>>('/agents', { query: { ...query, limit: PAGE_SIZE } }),
    placeholderData: (prev) => prev,
  });

  // Each change starts from the newest one asked for (url-params.ts): two quick clicks (show one
  // column, hide another) both count.
  const update = (changes: Record<string, string | undefined> | ((current: URLSearchParams) => Record<string, string | undefined>)) =>
    changeParams((current) => {
      const wanted = typeof changes === 'function' ? changes(current) : changes;
      const next = new URLSearchParams(current);
      for (const [k, v] of Object.entries(wanted)) {
        if (v) next.set(k, v);
        else next.delete(k);
      }
      if (!('continue' in wanted) && !('cols' in wanted)) next.delete('continue');
      return next;
    });

  const search = (e: FormEvent) => {
    e.preventDefault();
    update({ selector: selector.trim() || undefined });
  };

  const select = (name: (typeof FILTERS)[number], label: string, options: [string, string][]) => (
    <label>
      {label}
      <select value={query[name] ?? ''} onChange={(e) => update({ [name]: e.target.value || undefined })}>
        <option value="">any</option>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );

  // The first page of rows in the browser's performance timeline, once per visit of the list
  // (bench/scenarios/ui.ts reads it: navigation start, or the click that led here, to rows shown).
  const marked = useRef(false);
  useEffect(() => {
    if (list.data && !marked.current) {
      marked.current = true;
      performance.mark('agents-list-first-page');
    }
  }, [list.data]);

  const total = list.data ? list.data.items.length + list.data.metadata.remainingItemCount : undefined;
  return (
    <>
      <h1>Agents</h1>
      <form className="search" role="search" onSubmit={search}>
        <label className="grow">
          Selector
          <input
            name="selector"
            value={selector}
            onChange={(e) => setSelector(e.target.value)}
            placeholder="service.name=checkout,env in (prod,staging),!canary"
            spellCheck={false}
            autoComplete="off"
            list="selector-completions"
          />
          <datalist id="selector-completions" data-testid="selector-completions">
            {completions.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </label>
        <button type="submit">Search</button>
      </form>
      <div className="filters">
        {select('connected', 'Connected', [
          ['true', 'connected'],
          ['false', 'disconnected'],
        ])}
        {select('healthy', 'Health', [
          ['true', 'healthy'],
          ['false', 'not healthy'],
        ])}
        {select('transport', 'Transport', [
          ['websocket', 'WebSocket'],
          ['http', 'plain HTTP'],
          ['grpc', 'gRPC'],
        ])}
        {select('configState', 'Config', [
          ['applied', 'applied'],
          ['applying', 'applying'],
          ['failed', 'failed'],
          ['pending', 'pending'],
          ['unsupported', 'not accepted'],
          ['none', 'none assigned'],
        ])}
        {select('condition', 'Condition', [
          ['ConfigDrift', 'config drift'],
          ['Idle', 'idle'],
          ['ExportFailing', 'export failing'],
          ['Stale', 'no own metrics'],
          ['Restarting', 'restarting'],
        ])}
        {select('sort', 'Sort', [
          ['uid', 'uid'],
          ['-lastSeen', 'last seen, newest first'],
          ['lastSeen', 'last seen, oldest first'],
          ['-firstSeen', 'first seen, newest first'],
          ['-acceptedRate', 'items accepted, most first'],
          ['-sentRate', 'items sent, most first'],
          ['-exportFailureRatio', 'export failures, most first'],
        ])}
        {select(
          'group',
          'Group',
          (groups.data?.items ?? [])
            .map((g) => [g.metadata.name, g.metadata.name])
            .concat(query.group && !groups.data?.items.some((g) => g.metadata.name === query.group) ? [[query.group, query.group]] : []) as [string, string][],
        )}
        <details className="columns">
          <summary>Columns</summary>
          <fieldset>
            <legend className="sr-only">Shown columns</legend>
            {COLUMNS.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  checked={shown.includes(c.id)}
                  onChange={(e) => {
                    const on = e.target.checked;
                    update((current) => {
                      const now = shownColumns(current);
                      return { cols: (on ? [...now.filter((x) => x !== c.id), c.id] : now.filter((x) => x !== c.id)).join(',') || 'none' };
                    });
                  }}
                />
                {c.label}
              </label>
            ))}
          </fieldset>
        </details>
        <button type="button" onClick={() => void list.refetch()}>
          Refresh
        </button>
      </div>
      {query.package && (
        <p data-testid="package-filter">
          Agents reporting package <code>{query.package}</code>{' '}
          <button type="button" className="secondary" onClick={() => update({ package: undefined })}>
            Clear package filter
          </button>
        </p>
      )}
      <ProblemMessage error={list.error} />
      {list.data && (
        <>
          <p role="status">
            {total === 0
              ? 'No agents match.'
              : `${query.continue ? 'More of' : 'Showing'} ${list.data.items.length} of ${query.continue ? 'the remaining' : ''} ${total} agents`}
          </p>
          <div className="table-wrap">
            <table aria-label="Agents">
              <thead>
                <tr>
                  <th scope="col">Instance uid</th>
                  {columns.map((c) => (
                    <th key={c.id} scope="col">
                      {c.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((a) => (
                  <tr key={a.metadata.name}>
                    <th scope="row">
                      <Link to={`/agents/${a.metadata.name}`}>
                        <code>{a.metadata.name}</code>
                      </Link>
                    </th>
                    {columns.map((c) => (
                      <td key={c.id}>{c.cell(a)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            {query.continue && (
              <button type="button" onClick={() => update({ continue: undefined })}>
                First page
              </button>
            )}
            {list.data.metadata.continue && (
              <button type="button" onClick={() => update({ continue: list.data.metadata.continue })}>
                Next page
              </button>
            )}
          </nav>
        </>
      )}
    </>
  );
}
