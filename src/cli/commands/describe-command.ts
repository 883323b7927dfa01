import { Command } from 'commander';
import { ApiError, errorLine, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { describeText, packagesText, telemetryText } from '../describe-printer';
import { formatAge } from '../human-time';
import { columnsFor, formatResources, OutputFormat, rowOf } from '../printers';
import { field, isObject, Resource, ResourceList } from '../resource-fields';
import { resolveResourceType, ResourceType } from '../resource-types';
import { renderTable } from '../table';
import { DesiredConfig, governedBy } from '../wait-status';
import { action, outputOption, positiveInt, ProgramContext } from './command-kit';
import { getByNames, itemPath, listResources } from './resource-reader';

/** How many related items (agents of a group, revisions of a config) describe shows. */
const RELATED_LIMIT = 20;

/** `opampctl describe TYPE NAME...`: one resource in full, with what relates to it. */
export function describeCommand(ctx: ProgramContext): Command {
  return new Command('describe')
    .description('show resources in detail, with related information (desired config, agents, history)')
    .argument('<type>', 'resource type')
    .argument('[names...]', 'names; none = every resource of the type (-l filters)')
    .option('-l, --selector <selector>', 'label selector when no names are given')
    .option('--revision <n>', 'history: the revision to describe', positiveInt)
    .addOption(outputOption(['json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { selector?: string; revision?: number; output?: OutputFormat }, type: string, names: string[]) => {
        const t = resolveResourceType(type);
        let items: Resource[];
        if (t.parent) {
          if (!names.length) throw new UsageError('describe history needs the name of a remote config (describe history NAME [REVISION])');
          const revision = o.revision ?? (names[1] ? Number(names[1]) : 'latest');
          items = [await rt.client.get<Resource>(itemPath(t, names[0], revision))];
        } else if (names.length) items = await getByNames(rt, t, names);
        else items = (await listResources(rt, t, { selector: o.selector, all: true, full: true })).items;
        if (o.output) {
          rt.out(formatResources(t, items, { format: o.output }, names.length === 1));
          return;
        }
        const texts: string[] = [];
        const shown = (r: Resource) => (t.plural === 'agents' ? withoutPackageStatuses(r) : t.plural === 'packages' ? withBundlesSummarized(r) : r);
        for (const r of items) texts.push(describeText(shown(r), await related(rt, t, r)));
        if (texts.length) rt.out(texts.join('\n\n'));
      }),
    );
}

/** An agent without its package statuses, which describe shows in its own Packages section. */
function withoutPackageStatuses(r: Resource): Resource {
  if (!isObject(r.status)) return r;
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- left out on purpose
  const { packageStatuses, packages, ...status } = r.status;
  return { ...r, status };
}

/** A package version whose files' Sigstore bundles (base64 JSON, some 15 KiB each) are named by their size; `-o json` shows them whole. */
function withBundlesSummarized(r: Resource): Resource {
  if (!isObject(r.spec) || !Array.isArray(r.spec.files)) return r;
  const files = r.spec.files.map((f: unknown) =>
    isObject(f) && typeof f.sigstoreBundle === 'string'
      ? { ...f, sigstoreBundle: `<Sigstore bundle, ${Buffer.from(f.sigstoreBundle, 'base64').length} bytes of JSON; -o json shows it>` }
      : f,
  );
  return { ...r, spec: { ...r.spec, files } };
}

/** Extra sections per type; a failure to read them is shown in place rather than failing the describe. */
async function related(rt: CliRuntime, t: ResourceType, r: Resource): Promise<Record<string, unknown>> {
  const name = String(r.metadata?.name ?? '');
  const enc = encodeURIComponent(name);
  const guard = async (fn: () => Promise<unknown>) => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      return `<${errorLine(err)}>`;
    }
  };
  const now = Date.now();
  switch (t.plural) {
    case 'agents':
      return {
        'Desired Config': await guard(async () => {
          const d = await rt.client.get<Record<string, unknown>>(`/agents/${enc}/desired-config`);
          const configMap = isObject(d.configMap) ? d.configMap : {};
          return {
            assigned: d.assigned,
            acceptsRemoteConfig: d.acceptsRemoteConfig,
            origin: d.origin,
            hash: d.hash,
            error: d.error,
            delivery: d.delivery,
            files: Object.fromEntries(Object.entries(configMap).map(([file, v]) => [file, isObject(v) ? { contentType: v.contentType, source: v.source } : v])),
          };
        }),
        // The agent's reported package statuses and the offer, as a table (left out of the status above).
        Packages: packagesText(isObject(r.status) ? r.status.packages : undefined),
        Telemetry: await guard(async () => {
          const t = await rt.client.get<Record<string, unknown>>(`/agents/${enc}/telemetry`);
          return telemetryText(isObject(t.status) ? t.status : undefined, now);
        }),
      };
    case 'agentgroups':
      return {
        Agents: await guard(async () => {
          const page = await rt.client.get<ResourceList>(`/agentgroups/${enc}/agents`, { limit: RELATED_LIMIT });
          if (!page.items.length) return '<none>';
          const agents = resolveResourceType('agents');
          const cols = columnsFor(agents, false).filter((c) => ['NAME', 'SERVICE', 'CONNECTED', 'HEALTHY', 'LAST SEEN'].includes(c.header));
          // Where each agent's config comes from: only those this group governs show its delivery state.
          const from = await Promise.all(
            page.items.map((a) => rt.client.get<DesiredConfig>(`/agents/${encodeURIComponent(String(a.metadata?.name))}/desired-config`)),
          );
          const rows = page.items.map((a, i) => {
            const [uid, service, connected, healthy, seen] = rowOf(cols, a, now);
            const here = governedBy(from[i], name);
            const origin = from[i].origin;
            const source = here ? 'this group' : origin?.kind === 'group' ? `group ${origin.group}` : 'own config';
            return [uid, service, connected, healthy, here ? String(field(a, 'status.remoteConfig.state') ?? '<none>') : '-', source, seen];
          });
          const headers = ['NAME', 'SERVICE', 'CONNECTED', 'HEALTHY', 'CONFIG', 'CONFIG FROM', 'LAST SEEN'].map((header) => ({ header }));
          const { lines } = renderTable(headers, rows);
          const more = page.metadata?.remainingItemCount ? [`… and ${page.metadata.remainingItemCount} more (opampctl get agents --group ${name})`] : [];
          return [...lines, ...more].join('\n');
        }),
      };
    case 'remoteconfigs':
      return {
        History: await guard(async () => {
          const list = await listResources(rt, resolveResourceType('revisions'), { limit: RELATED_LIMIT }, name);
          const rows = list.items.map((v) => [
            String(field(v, 'metadata.revision')),
            String(field(v, 'metadata.hash') ?? '').slice(0, 12),
            String(field(v, 'metadata.author') ?? ''),
            String(field(v, 'metadata.message') ?? ''),
            formatAge(field(v, 'metadata.createdAt') as string, now),
          ]);
          const { lines } = renderTable(
            [{ header: 'REVISION', align: 'right' }, { header: 'HASH' }, { header: 'AUTHOR' }, { header: 'MESSAGE' }, { header: 'AGE' }],
            rows,
          );
          return lines.join('\n');
        }),
      };
    default:
      return {};
  }
}
