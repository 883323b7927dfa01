import { Command } from 'commander';
import { ApiError, CliError, errorLine } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { ApplyAction, pastTense, planApply } from '../apply-plan';
import { Manifest, readManifests } from '../manifests';
import { OutputFormat } from '../printers';
import { field, isObject, Resource } from '../resource-fields';
import { qualifiedName, ResourceType } from '../resource-types';
import { action, collect, outputOption, ProgramContext } from './command-kit';
import { itemPath, listResources } from './resource-reader';
import { applyOrder, messageQuery, report, tokenSecret, typeOf } from './write-kit';

/** Applies one manifest; a 409 from a concurrent change is met by reading again and re-planning. */
async function applyOne(rt: CliRuntime, m: Manifest, o: { dryRun?: boolean; message?: string; output?: OutputFormat }): Promise<ApplyAction> {
  const t = typeOf(m);
  if (t.createsWithoutName) return applyToken(rt, t, m, o);
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

/**
 * An enrollment token: the server names tokens and never changes them, so apply finds one by its
 * description: a live token with the same description and labels is left alone, none is created
 * (its secret printed once). Another token with that description but other labels is an error.
 */
async function applyToken(rt: CliRuntime, t: ResourceType, m: Manifest, o: { dryRun?: boolean; output?: OutputFormat }): Promise<ApplyAction> {
  const spec = isObject(m.resource.spec) ? m.resource.spec : {};
  const description = spec.description;
  if (typeof description !== 'string' || !description)
    throw new CliError(`${m.source}: an ${t.kind} needs spec.description to be applied (apply finds the token again by it)`);
  const live = (await listResources(rt, t, { all: true })).items.filter(
    (r) => field(r, 'spec.description') === description && field(r, 'status.state') === 'active',
  );
  const labels = JSON.stringify(sortedLabels(spec.labels));
  const same = live.find((r) => JSON.stringify(sortedLabels(field(r, 'spec.labels'))) === labels);
  if (same) {
    report(rt, t, same, `unchanged${o.dryRun ? ' (dry run)' : ''}`, o.output);
    return 'unchanged';
  }
  if (live.length)
    throw new CliError(
      `${m.source}: ${qualifiedName(t, live[0])} has the description "${description}" with other labels; tokens cannot be changed: revoke it (opampctl delete token NAME) and apply again`,
    );
  if (o.dryRun) {
    report(rt, t, m.resource, 'created (dry run)', o.output);
    return 'create';
  }
  const res = await rt.client.request<Resource>('POST', t.path, { body: { kind: t.kind, apiVersion: 'v1', spec } });
  report(rt, t, res.body, 'created', o.output);
  const secret = tokenSecret(res.body);
  if (secret && !o.output) rt.out(`Token (shown once): ${secret}`);
  return 'create';
}

const sortedLabels = (v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : {});

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
