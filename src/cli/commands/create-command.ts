import { Command, Option } from 'commander';
import { CliError, errorLine, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { manifestBody } from '../apply-plan';
import { contentTypeFor } from '../content-types';
import { parseDuration } from '../human-time';
import { readManifests } from '../manifests';
import { OutputFormat } from '../printers';
import { Resource } from '../resource-fields';
import { resolveResourceType } from '../resource-types';
import { readPassword } from './auth-commands';
import { action, collect, configRef, outputOption, ProgramContext } from './command-kit';
import { applyOrder, messageQuery, parseLabelArgs, readFile, report, tokenSecret, typeOf } from './write-kit';

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
            const res = await rt.client.request<Resource>('POST', t.path, {
              body: t.createsWithoutName ? { kind: body.kind, apiVersion: body.apiVersion, spec: body.spec ?? {} } : body,
              query: messageQuery(t, o.message),
            });
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
        await post(
          rt,
          'agentgroups',
          {
            kind: 'AgentGroup',
            apiVersion: 'v1',
            metadata: { name, ...(Object.keys(labels).length ? { labels: labels as Record<string, string> } : {}) },
            spec: { selector: o.selector, ...(o.priority !== undefined ? { priority: o.priority } : {}), configs },
          },
          o.output,
        );
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
    .argument('[description]', 'what it is for, e.g. my-fleet (the same as --description)')
    .option('--description <text>', 'what it is for')
    .option('--expires-in <duration>', 'lifetime, e.g. 24h or 7d')
    .option('--label <k=v>', 'label given to agents enrolling with it (repeatable)', collect)
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { description?: string; expiresIn?: string; label?: string[]; output?: OutputFormat }, description?: string) => {
        if (description !== undefined && o.description !== undefined) throw new UsageError('give the description once: as an argument or with --description');
        o.description = description ?? o.description;
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
            spec: {
              ...(o.description ? { description: o.description } : {}),
              ...(expiresAt ? { expiresAt } : {}),
              ...(Object.keys(labels).length ? { labels } : {}),
            },
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
      action(
        ctx,
        async (rt, o: { role: string; githubLogin?: string; password: boolean; passwordStdin?: boolean; output?: OutputFormat }, username: string) => {
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
        },
      ),
    );
  return create;
}
