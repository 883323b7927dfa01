import { Command } from 'commander';
import { ApiError, CliError, errorLine, UsageError } from '../cli-errors';
import { readManifests } from '../manifests';
import { qualifiedName, resolveResourceType, ResourceType } from '../resource-types';
import { action, collect, outputOption, ProgramContext } from './command-kit';
import { itemPath, listResources } from './resource-reader';
import { applyOrder, typeOf } from './write-kit';

/** `delete TYPE NAME...`, `delete TYPE -l SELECTOR`, `delete -f FILE`. */
export function deleteCommand(ctx: ProgramContext): Command {
  return new Command('delete')
    .description('delete resources by name, by selector or from manifests (agent groups and remote configs are soft-deleted)')
    .argument('[type]', 'resource type')
    .argument('[names...]', 'names')
    .option('-f, --filename <path>', 'delete what these manifests name (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-l, --selector <selector>', 'delete every resource of the type matching the selector')
    .option('--ignore-not-found', 'a missing resource is not an error')
    .addOption(outputOption(['name']))
    .action(
      action(
        ctx,
        async (
          rt,
          o: { filename?: string[]; recursive?: boolean; selector?: string; ignoreNotFound?: boolean; output?: string },
          type: string | undefined,
          names: string[],
        ) => {
          const targets: { t: ResourceType; name: string; source?: string }[] = [];
          if (o.filename) {
            if (type) throw new UsageError('give either -f or a type and names, not both');
            const ms = applyOrder(await readManifests(o.filename, Boolean(o.recursive), () => rt.readStdin())).reverse();
            for (const m of ms) {
              if (!m.resource.metadata?.name) throw new CliError(`${m.source}: ${m.resource.kind} has no metadata.name`);
              targets.push({ t: typeOf(m), name: String(m.resource.metadata.name), source: m.source });
            }
          } else {
            if (!type) throw new UsageError('delete needs a type and names, a type and -l, or -f FILE');
            const t = resolveResourceType(type);
            if (t.listOnly || t.parent) throw new CliError(`${t.plural} cannot be deleted`);
            if (names.length && o.selector) throw new UsageError('names and --selector cannot be combined');
            if (!names.length && !o.selector) throw new UsageError(`delete ${t.plural} needs names or a selector (-l)`);
            const chosen = names.length ? names : (await listResources(rt, t, { selector: o.selector, all: true })).items.map((r) => String(r.metadata?.name));
            for (const name of chosen) targets.push({ t, name });
            if (!chosen.length) rt.err('No resources found.');
          }
          for (const { t, name, source } of targets) {
            try {
              if (t.listOnly || t.parent) throw new CliError(`${t.plural} cannot be deleted`);
              await rt.client.request('DELETE', itemPath(t, name));
              rt.out(o.output === 'name' ? qualifiedName(t, name) : `${qualifiedName(t, name)} ${t.plural === 'enrollment-tokens' ? 'revoked' : 'deleted'}`);
            } catch (err) {
              if (err instanceof ApiError && err.status === 404 && o.ignoreNotFound) continue;
              rt.fail(source ? `${errorLine(err)} [${source}]` : errorLine(err));
            }
          }
        },
      ),
    );
}
