import { Command } from 'commander';
import { UsageError } from '../cli-errors';
import { manifestBody } from '../apply-plan';
import { field, isObject, Resource } from '../resource-fields';
import { action, ProgramContext } from './command-kit';

interface UpdatePackagesOptions {
  agent?: string;
  group?: string;
  force?: boolean;
  clear?: boolean;
}

interface PackageRef {
  name: string;
  version: string;
  force?: boolean;
}

const enc = encodeURIComponent;

/** `NAME@VERSION` as a package reference of a group or an agent. */
export function packageRef(text: string, force: boolean): PackageRef {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)@([0-9A-Za-z][0-9A-Za-z._+-]*)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not a package version (NAME@VERSION, e.g. otelcol@1.2.0)`);
  return { name: m[1], version: m[3], ...(force ? { force: true } : {}) };
}

/** `refs` in place of the entries of the same name; the others are kept, in their order. */
export function mergePackages(current: PackageRef[], refs: PackageRef[]): PackageRef[] {
  const named = new Map(refs.map((r) => [r.name, r]));
  const kept = current.map((p) => named.get(p.name) ?? p);
  return [...kept, ...refs.filter((r) => !current.some((p) => p.name === r.name))];
}

const refsOf = (v: unknown): PackageRef[] => (Array.isArray(v) ? v.filter(isObject).map((p) => p as unknown as PackageRef) : []);

/**
 * `update packages`: the package versions one agent (its own, overriding its group's by name) or
 * a group should run, the way `update config` sets their configuration. The server checks each
 * against the catalogue and the forward-only policy (a downgrade needs --force, and is audited).
 */
export function updatePackagesCommand(update: Command, ctx: ProgramContext): void {
  update
    .command('packages')
    .description("set package versions of one agent (--agent, its own, overriding its group's by name) or of a group (--group)")
    .argument('[refs...]', 'NAME@VERSION of each package; other packages already named are kept')
    .option('--agent <id>', 'the agent (instance uid)')
    .option('--group <name>', 'the agent group')
    .option('--force', 'allow a downgrade (an older version than the agent runs)')
    .option('--clear', 'name no packages any more (an agent then follows its group again)')
    .action(
      action(ctx, async (rt, o: UpdatePackagesOptions, refsText: string[]) => {
        if (Boolean(o.agent) === Boolean(o.group)) throw new UsageError('update packages needs exactly one of --agent ID or --group NAME');
        if (o.clear && refsText.length) throw new UsageError('--clear takes no NAME@VERSION');
        if (!o.clear && !refsText.length) throw new UsageError('update packages needs NAME@VERSION (or --clear)');
        const refs = refsText.map((t) => packageRef(t, !!o.force));
        if (o.agent) {
          const current = o.clear ? [] : refsOf(field(await rt.client.get<Resource>(`/agents/${enc(o.agent)}`), 'spec.assignedPackages.packages'));
          await rt.client.request('PUT', `/agents/${enc(o.agent)}/packages`, { body: { packages: o.clear ? [] : mergePackages(current, refs) } });
          rt.out(`agent/${o.agent} ${o.clear ? "packages cleared (it follows its group's again)" : 'packages configured'}`);
          return;
        }
        const path = `/agentgroups/${enc(o.group!)}`;
        const group = await rt.client.get<Resource>(path);
        const next = manifestBody(group);
        next.metadata = { ...next.metadata, resourceVersion: group.metadata?.resourceVersion };
        next.spec = { ...(isObject(group.spec) ? group.spec : {}), packages: o.clear ? [] : mergePackages(refsOf(field(group, 'spec.packages')), refs) };
        await rt.client.request('PUT', path, { body: next });
        rt.out(`agentgroup/${o.group} ${o.clear ? 'packages cleared' : 'packages configured'}`);
      }),
    );
}
