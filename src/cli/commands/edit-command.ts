import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { parse } from 'yaml';
import { ApiError, CliError, errorLine } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { toYaml } from '../printers';
import { deepEqual, isObject, Resource } from '../resource-fields';
import { qualifiedName, resolveResourceType, ResourceType } from '../resource-types';
import { action, ProgramContext } from './command-kit';
import { itemPath } from './resource-reader';

/** What `edit` puts in front of the user: the writable parts, with resourceVersion for the replace. */
export function editableView(t: ResourceType, r: Resource): Resource {
  const md = r.metadata ?? {};
  if (t.update === 'labels') return { kind: r.kind, apiVersion: r.apiVersion, metadata: { name: md.name, labels: md.labels ?? {} } };
  if (t.update === 'patch-spec') return { kind: r.kind, apiVersion: r.apiVersion, metadata: { name: md.name }, spec: r.spec };
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata: { name: md.name, ...(md.labels ? { labels: md.labels } : {}), ...(md.resourceVersion ? { resourceVersion: md.resourceVersion } : {}) },
    spec: r.spec,
  };
}

const HEADER = (t: ResourceType, name: string) =>
  [
    `# Edit ${t.singular}/${name}. Save and quit to apply; an unchanged file (or an empty one) changes nothing.`,
    '# Lines starting with # are ignored. On an error, your edits are kept in a file named below.',
    '',
  ].join('\n');

/** Runs `$VISUAL`/`$EDITOR` (through the shell, so it may carry arguments) on a file and waits for it. */
function runEditor(rt: CliRuntime, file: string): void {
  const editor = rt.io.env.VISUAL || rt.io.env.EDITOR || 'vi';
  const res = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'opampctl-editor', file], { stdio: 'inherit', env: rt.io.env });
  if (res.error) throw new CliError(`could not run the editor "${editor}": ${res.error.message}`);
  if (res.status !== 0) throw new CliError(`the editor "${editor}" exited with status ${res.status}; nothing was changed`);
}

/** `edit TYPE NAME`: opens the resource as YAML in the editor and applies the saved result. */
export function editCommand(ctx: ProgramContext): Command {
  return new Command('edit')
    .description('edit a resource as YAML in $EDITOR and apply it on save (agents: labels only)')
    .argument('<type>', 'agentgroups, remoteconfigs, agents, users, tokens')
    .argument('<name>', 'name')
    .action(
      action(ctx, async (rt, _o: object, type: string, name: string) => {
        const t = resolveResourceType(type);
        if (t.update === 'none' || t.update === 'immutable')
          throw new CliError(`${t.plural} cannot be edited${t.update === 'immutable' ? ' (a version never changes; publish a new one)' : ''}`);
        const current = await rt.client.get<Resource>(itemPath(t, name));
        const original = editableView(t, current);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-edit-'));
        const file = path.join(dir, `${t.singular}-${name}.yaml`);
        fs.writeFileSync(file, HEADER(t, name) + toYaml(original), { mode: 0o600 });
        runEditor(rt, file);
        const text = fs.readFileSync(file, 'utf8');
        let edited: unknown;
        try {
          edited = parse(text);
        } catch (err) {
          throw new CliError(`the edited file is not valid YAML (${(err as Error).message.split('\n')[0]}); your edits are in ${file}`);
        }
        if (edited === null || edited === undefined || deepEqual(edited, original)) {
          fs.rmSync(dir, { recursive: true, force: true });
          rt.out('Edit cancelled, no changes made.');
          return;
        }
        if (!isObject(edited) || !isObject(edited.metadata) || edited.metadata.name !== name) {
          throw new CliError(`the edited resource must keep metadata.name "${name}"; your edits are in ${file}`);
        }
        const e = edited as Resource;
        try {
          if (t.update === 'labels') {
            const want = (e.metadata?.labels ?? {}) as Record<string, string>;
            const patch: Record<string, string | null> = { ...want };
            for (const k of Object.keys(current.metadata?.labels ?? {})) if (!(k in want)) patch[k] = null;
            await rt.client.request('PATCH', itemPath(t, name), { body: { metadata: { labels: patch } } });
          } else if (t.update === 'patch-spec') {
            // Only what changed is sent (a user's spec may also take a new password here).
            const before = (original.spec ?? {}) as Record<string, unknown>;
            const after = (isObject(e.spec) ? e.spec : {}) as Record<string, unknown>;
            const spec = Object.fromEntries(Object.entries(after).filter(([k, v]) => !deepEqual(v, before[k])));
            for (const k of Object.keys(before)) if (!(k in after) && k === 'githubLogin') spec[k] = null;
            await rt.client.request('PATCH', itemPath(t, name), { body: { spec } });
          } else {
            await rt.client.request('PUT', itemPath(t, name), { body: e });
          }
        } catch (err) {
          const kept = `; your edits are in ${file}`;
          // The server's answer stays one "Error from server (…)" line, with where the edits are.
          if (err instanceof ApiError)
            throw new ApiError(
              err.status,
              err.problem,
              err.statusText,
              `${err.status === 409 ? ' (it changed since you opened it: run edit again)' : ''}${kept}`,
            );
          throw new CliError(`${errorLine(err).replace(/^error: /, '')}${kept}`);
        }
        fs.rmSync(dir, { recursive: true, force: true });
        rt.out(`${qualifiedName(t, name)} edited`);
      }),
    );
}
