import { Command } from 'commander';
import { ApiError, errorLine } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { ApplyAction, pastTense, planApply } from '../apply-plan';
import { Manifest, readManifests } from '../manifests';
import { OutputFormat } from '../printers';
import { Resource } from '../resource-fields';
import { action, collect, outputOption, ProgramContext } from './command-kit';
import { itemPath } from './resource-reader';
import { applyOrder, messageQuery, report, typeOf } from './write-kit';

/** Applies one manifest; a 409 from a concurrent change is met by reading again and re-planning. */
async function applyOne(rt: CliRuntime, m: Manifest, o: { dryRun?: boolean; message?: string; output?: OutputFormat }): Promise<ApplyAction> {
  const t = typeOf(m);
  if (t.update === 'none') return planApply(t, m.resource, undefined).action; // throws: cannot be applied
  const name = String(m.resource.metadata!.name);
  for (let attempt = 1; ; attempt++) {
    const current = await rt.client.find<Resource>(itemPath(t, name));
    const plan = planApply(t, m.resource, current);
    if (o.dryRun || plan.action === 'unchanged') {
      report(rt, t, current ?? m.resource, `${pastTense(plan.action)}${o.dryRun ? ' (dry run)' : ''}`, o.output);
      return plan.action;
    }
    try {
      const query = messageQuery(t, o.message);
      const res =
        plan.action === 'create'
          ? await rt.client.request<Resource>('POST', t.path, { body: plan.body, query })
          : await rt.client.request<Resource>(plan.action === 'patch' ? 'PATCH' : 'PUT', itemPath(t, name), { body: plan.body, query });
      report(rt, t, res.body ?? m.resource, pastTense(plan.action), o.output);
      return plan.action;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && attempt < 3) continue;
      throw err;
    }
  }
}

/** `apply -f FILE|DIR|-`. */
export function applyCommand(ctx: ProgramContext): Command {
  return new Command('apply')
    .description('create or update resources from YAML/JSON manifests (idempotent): created, configured or unchanged')
    .requiredOption('-f, --filename <path>', 'a file, a directory of .yaml/.yml/.json files, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-m, --message <text>', 'message recorded on remote config revisions this makes')
    .option('--dry-run', 'show what would be done, change nothing')
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { filename: string[]; recursive?: boolean; message?: string; dryRun?: boolean; output?: OutputFormat }) => {
        const manifests = applyOrder(await readManifests(o.filename, Boolean(o.recursive), () => rt.readStdin()));
        for (const m of manifests) {
          try {
            await applyOne(rt, m, o);
          } catch (err) {
            rt.fail(`${errorLine(err)} [${m.source}]`);
          }
        }
      }),
    );
}
