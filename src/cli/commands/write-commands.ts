import * as fs from 'node:fs';
import { Command, Option } from 'commander';
import { ApiError, CliError, errorLine, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { ApplyAction, manifestBody, pastTense, planApply } from '../apply-plan';
import { contentTypeFor } from '../content-types';
import { parseDuration } from '../human-time';
import { Manifest, readManifests } from '../manifests';
import { formatResources, OutputFormat } from '../printers';
import { isObject, Resource } from '../resource-fields';
import { qualifiedName, resolveResourceType, ResourceType, typeOfKind } from '../resource-types';
import { readPassword } from './auth-commands';
import { action, collect, configRef, outputOption, ProgramContext } from './command-kit';
import { getByNames, itemPath, listResources } from './resource-reader';

/** Writing resources: create, apply, delete, label. */

/** Order of kinds when applying several: what others refer to comes first (deletes go the other way). */
const KIND_ORDER = ['RemoteConfig', 'User', 'EnrollmentToken', 'AgentGroup', 'Agent'];
const rank = (m: Manifest) => {
  const i = KIND_ORDER.indexOf(String(m.resource.kind));
  return i < 0 ? KIND_ORDER.length : i;
};
export const applyOrder = (ms: Manifest[]) => ms.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map((x) => x.m);

function typeOf(m: Manifest): ResourceType {
  const t = typeOfKind(String(m.resource.kind));
  if (!t || t.parent) throw new CliError(`${m.source}: unknown kind "${m.resource.kind}"`);
  if (m.resource.apiVersion !== undefined && m.resource.apiVersion !== 'v1') throw new CliError(`${m.source}: apiVersion must be v1, got "${m.resource.apiVersion}"`);
  return t;
}

/** The `?message=` of a write that makes a remote config revision. */
const messageQuery = (t: ResourceType, message?: string) => (t.plural === 'remoteconfigs' && message ? { message } : undefined);

function report(rt: CliRuntime, t: ResourceType, r: Resource, word: string, output?: OutputFormat): void {
  if (output === 'json' || output === 'yaml') rt.out(formatResources(t, [r], { format: output }, true));
  else if (output === 'name') rt.out(qualifiedName(t, r));
  else rt.out(`${qualifiedName(t, r)} ${word}`);
}

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
      action(ctx, async (rt, o: { filename?: string[]; recursive?: boolean; selector?: string; ignoreNotFound?: boolean; output?: string }, type: string | undefined, names: string[]) => {
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
      }),
    );
}

/** `key=value` pairs of --label and `label` into a map (`key-` removes a key, as null). */
export function parseLabelArgs(args: string[], allowRemove: boolean): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of args) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.*)$/.exec(a);
    if (m) out[m[1]] = m[2];
    else if (allowRemove && /^[A-Za-z0-9][A-Za-z0-9._/-]*-$/.test(a)) out[a.slice(0, -1)] = null;
    else throw new UsageError(`"${a}" is not a label (key=value${allowRemove ? ' or key-' : ''})`);
  }
  return out;
}

/** `create -f FILE` and imperative `create agentgroup|remoteconfig|token|user NAME`. */
export function createCommand(ctx: ProgramContext): Command {
  const create = new Command('create')
    .description('create resources from manifests (-f) or from flags (see the subcommands); existing ones are an error')
    .option('-f, --filename <path>', 'a file, a directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-m, --message <text>', 'message recorded on remote config revisions this makes')
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { filename?: string[]; recursive?: boolean; message?: string; output?: OutputFormat }) => {
        if (!o.filename) throw new UsageError('create needs -f FILE, or a subcommand: agentgroup, remoteconfig, token, user');
        for (const m of applyOrder(await readManifests(o.filename, Boolean(o.recursive), () => rt.readStdin()))) {
          try {
            const t = typeOf(m);
            if (t.update === 'labels' || t.listOnly) throw new CliError(`${t.plural} cannot be created`);
            const body = manifestBody(m.resource);
            // Enrollment tokens are named by the server: only their spec is sent.
            const res = await rt.client.request<Resource>('POST', t.path, { body: t.createsWithoutName ? { kind: body.kind, apiVersion: body.apiVersion, spec: body.spec ?? {} } : body, query: messageQuery(t, o.message) });
            report(rt, t, res.body, 'created', o.output);
            const secret = tokenSecret(res.body);
            if (secret && !o.output) rt.out(`Token (shown once): ${secret}`);
          } catch (err) {
            rt.fail(`${errorLine(err)} [${m.source}]`);
          }
        }
      }),
    );

  const post = async (rt: CliRuntime, plural: string, body: Resource, output?: OutputFormat, query?: Record<string, string>) => {
    const t = resolveResourceType(plural);
    const res = await rt.client.request<Resource>('POST', t.path, { body, query });
    report(rt, t, res.body ?? body, 'created', output);
    return res.body;
  };

  create
    .command('agentgroup')
    .alias('group')
    .argument('<name>', 'group name (a DNS label)')
    .description('create an agent group')
    .requiredOption('--selector <selector>', 'which agents belong, e.g. "service.name=checkout" ("" = all)')
    .option('--priority <n>', 'highest priority wins among matching groups', (v) => {
      if (!/^-?[0-9]+$/.test(v)) throw new UsageError('--priority must be a whole number');
      return Number(v);
    })
    .option('--remote-config <ref>', 'remote config assigned: [FILE=]NAME[@REVISION] (repeatable)', collect)
    .option('--label <k=v>', 'label (repeatable)', collect)
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { selector: string; priority?: number; remoteConfig?: string[]; label?: string[]; output?: OutputFormat }, name: string) => {
        const configs = (o.remoteConfig ?? []).map((c) => {
          const eq = c.lastIndexOf('=');
          return { fileName: eq >= 0 ? c.slice(0, eq) : '', ...configRef(eq >= 0 ? c.slice(eq + 1) : c) };
        });
        const labels = parseLabelArgs(o.label ?? [], false);
        await post(rt, 'agentgroups', {
          kind: 'AgentGroup',
          apiVersion: 'v1',
          metadata: { name, ...(Object.keys(labels).length ? { labels: labels as Record<string, string> } : {}) },
          spec: { selector: o.selector, ...(o.priority !== undefined ? { priority: o.priority } : {}), configs },
        }, o.output);
      }),
    );

  create
    .command('remoteconfig')
    .alias('rc')
    .argument('<name>', 'remote config name (a DNS label)')
    .description('create a remote config from a file')
    .requiredOption('--from-file <file>', 'the configuration document (- for stdin)')
    .option('--content-type <type>', 'media type (default: from the file extension, else application/yaml)')
    .option('--description <text>', 'description')
    .option('-m, --message <text>', 'message recorded on revision 1')
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { fromFile: string; contentType?: string; description?: string; message?: string; output?: OutputFormat }, name: string) => {
        const body = o.fromFile === '-' ? await rt.readStdin() : readFile(o.fromFile);
        const contentType = o.contentType ?? (o.fromFile === '-' ? 'application/yaml' : contentTypeFor(o.fromFile));
        await post(
          rt,
          'remoteconfigs',
          { kind: 'RemoteConfig', apiVersion: 'v1', metadata: { name }, spec: { contentType, body, ...(o.description ? { description: o.description } : {}) } },
          o.output,
          o.message ? { message: o.message } : undefined,
        );
      }),
    );

  create
    .command('token')
    .alias('enrollmenttoken')
    .description('create an agent enrollment token (the server names it); its secret is printed once')
    .option('--description <text>', 'what it is for')
    .option('--expires-in <duration>', 'lifetime, e.g. 24h or 7d')
    .option('--label <k=v>', 'label given to agents enrolling with it (repeatable)', collect)
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { description?: string; expiresIn?: string; label?: string[]; output?: OutputFormat }) => {
        let expiresAt: string | undefined;
        if (o.expiresIn) {
          const ms = parseDuration(o.expiresIn);
          if (!ms) throw new UsageError(`--expires-in must be a duration such as 24h, got "${o.expiresIn}"`);
          expiresAt = new Date(Date.now() + ms).toISOString();
        }
        const labels = parseLabelArgs(o.label ?? [], false);
        const created = await post(
          rt,
          'enrollment-tokens',
          {
            kind: 'EnrollmentToken',
            apiVersion: 'v1',
            spec: { ...(o.description ? { description: o.description } : {}), ...(expiresAt ? { expiresAt } : {}), ...(Object.keys(labels).length ? { labels } : {}) },
          },
          o.output,
        );
        const secret = tokenSecret(created);
        if (secret && !o.output) rt.out(`Token (shown once): ${secret}`);
      }),
    );

  create
    .command('user')
    .argument('<username>', 'user name')
    .description('create a user with a password (prompted for, or --password-stdin) and/or a GitHub login')
    .addOption(new Option('--role <role>', 'what the user may do').choices(['viewer', 'operator', 'admin']).makeOptionMandatory())
    .option('--github-login <login>', 'the GitHub login this user signs in as')
    .option('--no-password', 'no password: the user signs in with GitHub only')
    .option('--password-stdin', 'read the password from stdin')
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { role: string; githubLogin?: string; password: boolean; passwordStdin?: boolean; output?: OutputFormat }, username: string) => {
        if (!o.password && !o.githubLogin) throw new UsageError('--no-password needs --github-login');
        const password = o.password ? await readPassword(rt, Boolean(o.passwordStdin), `Password for ${username}: `) : undefined;
        await post(
          rt,
          'users',
          {
            kind: 'User',
            apiVersion: 'v1',
            metadata: { name: username },
            spec: { role: o.role, ...(password !== undefined ? { password } : {}), ...(o.githubLogin ? { githubLogin: o.githubLogin } : {}) },
          },
          o.output,
        );
      }),
    );
  return create;
}

/** The one-time secret of a created enrollment token, wherever the server put it. */
export function tokenSecret(r: unknown): string | undefined {
  if (!isObject(r)) return undefined;
  for (const holder of [r, r.status, r.spec]) {
    if (!isObject(holder)) continue;
    for (const k of ['token', 'secret', 'value']) if (typeof holder[k] === 'string') return holder[k] as string;
  }
  return undefined;
}

export function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

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
          for (const [k, v] of Object.entries(change)) if (v === null) delete labels[k];
          else labels[k] = v;
          await rt.client.request('PUT', itemPath(t, name), { body: { ...manifestBody(current), metadata: { name, labels, resourceVersion: current.metadata?.resourceVersion } } });
        }
        rt.out(`${qualifiedName(t, name)} labeled`);
      }),
    );
}
