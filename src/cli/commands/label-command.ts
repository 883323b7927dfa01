import { Command } from 'commander';
import { CliError } from '../cli-errors';
import { manifestBody } from '../apply-plan';
import { resolveResourceType, qualifiedName } from '../resource-types';
import { action, ProgramContext } from './command-kit';
import { getByNames, itemPath } from './resource-reader';
import { parseLabelArgs } from './write-kit';

/** `label TYPE NAME k=v k2-`: server-side labels of agents (merge patch) and agent groups (replace). */
export function labelCommand(ctx: ProgramContext): Command {
  return new Command('label')
    .description('set (k=v) or remove (k-) labels of agents and agent groups')
    .argument('<type>', 'agents or agentgroups')
    .argument('<name>', 'name')
    .argument('<labels...>', 'k=v to set, k- to remove')
    .option('--overwrite', 'allow changing the value of an existing label')
    .action(
      action(ctx, async (rt, o: { overwrite?: boolean }, type: string, name: string, args: string[]) => {
        const t = resolveResourceType(type);
        if (t.plural !== 'agents' && t.plural !== 'agentgroups') throw new CliError(`${t.plural} have no labels`);
        const change = parseLabelArgs(args, true);
        const [current] = await getByNames(rt, t, [name]);
        if (!current) return;
        const have = (current.metadata?.labels ?? {}) as Record<string, string>;
        const clash = Object.keys(change).filter((k) => change[k] !== null && have[k] !== undefined && have[k] !== change[k]);
        if (clash.length && !o.overwrite) throw new CliError(`label ${clash.join(', ')} already set; use --overwrite to change it`);
        if (t.plural === 'agents') {
          await rt.client.request('PATCH', itemPath(t, name), { body: { metadata: { labels: change } } });
        } else {
          const labels: Record<string, string> = { ...have };
          for (const [k, v] of Object.entries(change))
            if (v === null) delete labels[k];
            else labels[k] = v;
          await rt.client.request('PUT', itemPath(t, name), {
            body: { ...manifestBody(current), metadata: { name, labels, resourceVersion: current.metadata?.resourceVersion } },
          });
        }
        rt.out(`${qualifiedName(t, name)} labeled`);
      }),
    );
}
