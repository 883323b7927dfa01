import { Command } from 'commander';
import { redacted } from '../cli-config';
import { CliError } from '../cli-errors';
import { formatResources, toJson, toYaml } from '../printers';
import { Resource, ResourceList } from '../resource-fields';
import { resolveResourceType } from '../resource-types';
import { renderTable } from '../table';
import { action, nonNegativeInt, outputOption, positiveInt, ProgramContext } from './command-kit';

/**
 * The context commands, made anew for each place they are added: under `config` and, as in the
 * CLI page's table (docs/cli.md), at the top level (`opampctl get-contexts` is `opampctl config get-contexts`).
 */
export function contextCommands(ctx: ProgramContext): Command[] {
  const getContexts = new Command('get-contexts')
    .description('list the contexts; * marks the current one')
    .addOption(outputOption(['table', 'name'], 'table'))
    .action(
      action(ctx, async (rt, o: { output: string }) => {
        const current = rt.store.currentContextName;
        const contexts = rt.store.config.contexts;
        if (o.output === 'name') {
          rt.out(contexts.map((c) => `${c.name}\n`).join(''));
          return;
        }
        const rows = contexts.map((c) => [
          c.name === current ? '*' : '',
          c.name,
          c.server,
          c.credentials?.username ?? (c.credentials?.accessToken ? '<token>' : ''),
        ]);
        const cols = [{ header: 'CURRENT' }, { header: 'NAME' }, { header: 'SERVER' }, { header: 'USER' }];
        rt.out(rows.length ? `${renderTable(cols, rows, { maxWidth: rt.tableWidth }).lines.join('\n')}\n` : '');
        if (!rows.length) rt.err('No contexts; add one with: opampctl config set-context NAME --server URL');
      }),
    );

  const currentContext = new Command('current-context').description('print the name of the current context').action(
    action(ctx, async (rt) => {
      const name = rt.store.currentContextName;
      if (!name) throw new CliError('current context is not set');
      rt.out(name);
    }),
  );

  const useContext = new Command('use-context')
    .argument('<name>', 'context name')
    .description('make a context the current one')
    .action(
      action(ctx, async (rt, _o: object, name: string) => {
        rt.store.useContext(name);
        rt.store.save();
        rt.out(`Switched to context "${name}".`);
      }),
    );

  const setContext = new Command('set-context')
    .argument('<name>', 'context name')
    .description('create or change a context')
    .option('--server <url>', 'the server URL, e.g. http://localhost:8080')
    .option('--current', 'also make it the current context')
    .action(
      action(ctx, async (rt, o: { server?: string; current?: boolean }, name: string) => {
        // --server here is the command's own option; commander merges it with the global one of the same name.
        const existed = Boolean(rt.store.context(name));
        rt.store.setContext(name, o.server);
        if (o.current || !rt.store.currentContextName) rt.store.useContext(name);
        rt.store.save();
        rt.out(`Context "${name}" ${existed ? 'modified' : 'created'}.`);
      }),
    );

  const deleteContext = new Command('delete-context')
    .argument('<name>', 'context name')
    .description('remove a context and its cached credentials')
    .action(
      action(ctx, async (rt, _o: object, name: string) => {
        rt.store.deleteContext(name);
        rt.store.save();
        rt.out(`Deleted context "${name}".`);
      }),
    );
  return [getContexts, currentContext, useContext, setContext, deleteContext];
}

/**
 * `opampctl config`: the contexts of opampctl's own config file, and the remote-config verbs that
 * read like configuration work (`config diff`, `config rollback`, `config history`).
 */
export function configCommand(ctx: ProgramContext): Command {
  const config = new Command('config').description('manage contexts (servers and cached credentials) and remote config revisions');

  config
    .command('view')
    .description('show the config file (tokens redacted unless --raw)')
    .option('--raw', 'show tokens too')
    .addOption(outputOption(['yaml', 'json'], 'yaml'))
    .action(
      action(ctx, async (rt, o: { raw?: boolean; output: 'yaml' | 'json' }) => {
        const cfg = o.raw ? rt.store.config : redacted(rt.store.config);
        rt.out(o.output === 'json' ? toJson(cfg) : toYaml(cfg));
      }),
    );

  for (const c of contextCommands(ctx)) config.addCommand(c);

  config
    .command('diff')
    .argument('<remoteconfig>', 'remote config name')
    .description('unified diff between two revisions of a remote config (default: the latest against the one before)')
    .option('--from <revision>', 'older revision', positiveInt)
    .option('--to <revision>', 'newer revision', positiveInt)
    .option('-U, --unified <lines>', 'unchanged lines around each change', nonNegativeInt)
    .action(
      action(ctx, async (rt, o: { from?: number; to?: number; unified?: number }, name: string) => {
        const { body } = await rt.client.request<string>('GET', `/remoteconfigs/${encodeURIComponent(name)}/diff`, {
          query: { from: o.from, to: o.to, context: o.unified },
        });
        const text = typeof body === 'string' ? body : '';
        if (!text.trim()) {
          rt.err('No differences.');
          return;
        }
        rt.out(rt.color ? colorDiff(text) : text);
      }),
    );

  config
    .command('rollback')
    .argument('<remoteconfig>', 'remote config name')
    .description('make a new revision equal to an older one')
    .requiredOption('--revision <n>', 'the revision to go back to', positiveInt)
    .option('-m, --message <text>', 'message recorded on the new revision')
    .addOption(outputOption(['name', 'json', 'yaml']))
    .action(
      action(ctx, async (rt, o: { revision: number; message?: string; output?: string }, name: string) => {
        const path = `/remoteconfigs/${encodeURIComponent(name)}`;
        const before = await rt.client.get<Resource>(path);
        const { body } = await rt.client.request<Resource>('POST', `${path}/rollback`, {
          body: { revision: o.revision, ...(o.message ? { message: o.message } : {}) },
        });
        const t = resolveResourceType('remoteconfigs');
        if (o.output) {
          rt.out(formatResources(t, [body], { format: o.output as 'name' }, true));
          return;
        }
        const was = before.status?.latestRevision;
        const now = body.status?.latestRevision;
        rt.out(
          was === now
            ? `remoteconfig/${name} unchanged (revision ${now} already equals revision ${o.revision})`
            : `remoteconfig/${name} rolled back to revision ${o.revision} (new revision ${now})`,
        );
      }),
    );

  config
    .command('history')
    .argument('<remoteconfig>', 'remote config name')
    .description('list the revisions of a remote config, newest first (same as: get history NAME)')
    .addOption(outputOption())
    .option('--all', 'every revision, following continue cursors')
    .option('--limit <n>', 'revisions in one page', positiveInt)
    .action(
      action(ctx, async (rt, o: { output?: string; all?: boolean; limit?: number }, name: string) => {
        const t = resolveResourceType('revisions');
        const list: ResourceList = await rt.client.list(`/remoteconfigs/${encodeURIComponent(name)}/revisions`, { limit: o.limit }, Boolean(o.all));
        rt.out(formatResources(t, list.items, { format: (o.output ?? 'table') as 'table', width: rt.tableWidth }));
      }),
    );

  return config;
}

function colorDiff(text: string): string {
  return text
    .split('\n')
    .map((l) =>
      l.startsWith('+') && !l.startsWith('+++')
        ? `\x1b[32m${l}\x1b[0m`
        : l.startsWith('-') && !l.startsWith('---')
          ? `\x1b[31m${l}\x1b[0m`
          : l.startsWith('@@')
            ? `\x1b[36m${l}\x1b[0m`
            : l,
    )
    .join('\n');
}
