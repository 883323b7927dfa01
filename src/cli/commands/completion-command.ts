import { Command } from 'commander';
import { UsageError } from '../cli-errors';
import { bashScript, completionRequest, specOf, typeWords, zshScript } from '../completion';
import type { CliRuntime } from '../cli-runtime';
import { findResourceType, nameOf, RESOURCE_TYPES, ResourceType } from '../resource-types';
import { renderTable } from '../table';
import { action, ProgramContext } from './command-kit';

/** `completion bash|zsh` prints a script; the hidden `__complete` answers it. */
export function completionCommands(ctx: ProgramContext, root: () => Command): Command[] {
  const completion = new Command('completion')
    .description('print the shell completion script for bash or zsh (e.g. source <(opampctl completion bash))')
    .argument('<shell>', 'bash or zsh')
    .action(
      action(ctx, async (rt, _o: object, shell: string) => {
        if (shell === 'bash') rt.out(bashScript());
        else if (shell === 'zsh') rt.out(zshScript());
        else throw new UsageError(`completion is available for bash and zsh, not "${shell}"`);
      }),
    );

  const complete = new Command('__complete')
    .description('(used by the completion scripts) print candidates for the words typed so far')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action(
      action(ctx, async (rt, _o: object, words: string[]) => {
        rt.globals.requestTimeout ??= '3s';
        const req = completionRequest(specOf(root()), words);
        const slot = req.slot;
        if (slot === 'files') return rt.out(':files');
        let candidates: string[] = [];
        if (slot.kind === 'types') candidates = typeWords(slot.only);
        else if (slot.kind === 'words') candidates = slot.words;
        else if (slot.kind === 'contexts') candidates = rt.store.config.contexts.map((c) => c.name);
        else if (slot.kind === 'names' && slot.type) candidates = await resourceNames(rt, slot.type);
        const matching = candidates.filter((c) => c.startsWith(req.current));
        if (matching.length) rt.out(matching.join('\n'));
      }),
    );
  (complete as unknown as { _hidden: boolean })._hidden = true;

  const apiResources = new Command('api-resources').description('list the resource types with their short names').action(
    action(ctx, async (rt) => {
      const rows = RESOURCE_TYPES.map((t) => [
        t.plural,
        t.aliases.join(','),
        t.kind,
        t.parent ? `${t.parent}/NAME/revisions` : t.path.slice(1),
        verbsOf(t).join(','),
      ]);
      rt.out(
        `${renderTable([{ header: 'NAME' }, { header: 'SHORTNAMES' }, { header: 'KIND' }, { header: 'PATH' }, { header: 'VERBS' }], rows, { maxWidth: rt.tableWidth }).lines.join('\n')}\n`,
      );
    }),
  );
  return [completion, complete, apiResources];
}

/** What can be done with a type, for api-resources. */
export function verbsOf(t: ResourceType): string[] {
  if (t.listOnly) return ['get'];
  if (t.parent) return ['get', 'describe'];
  if (t.update === 'labels') return ['get', 'describe', 'edit', 'label', 'delete', 'apply'];
  if (t.update === 'none') return ['get', 'describe', 'create', 'delete'];
  if (t.update === 'immutable') return ['get', 'describe', 'create', 'apply', 'upload', 'delete'];
  return ['get', 'describe', 'create', 'apply', 'edit', 'delete'];
}

/** Names for completion, asked of the server with a short timeout; nothing when it cannot answer. */
async function resourceNames(rt: CliRuntime, type: string): Promise<string[]> {
  const t = findResourceType(type);
  if (!t || t.parent) return [];
  try {
    const list = await rt.client.list(t.path, { limit: 200 }, false);
    return list.items.map((r) => nameOf(t, r)).filter(Boolean);
  } catch {
    return [];
  }
}
