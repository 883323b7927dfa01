import { Command } from 'commander';
import { CliError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { manifestBody } from '../apply-plan';
import { contentTypeFor } from '../content-types';
import { field, isObject, Resource } from '../resource-fields';
import { action, configRef, ProgramContext } from './command-kit';
import { readFile } from './write-kit';
import { updatePackagesCommand } from './packages-command';

interface UpdateConfigOptions {
  agent?: string;
  group?: string;
  filename?: string;
  fileName: string;
  contentType?: string;
  remoteConfig?: string;
  clear?: boolean;
  message?: string;
}

const enc = encodeURIComponent;

/** `update config --agent ID`: the agent's own assignment (overrides its group's), inline or by reference. */
async function updateAgent(rt: CliRuntime, o: UpdateConfigOptions, content?: { body: string; contentType: string }): Promise<void> {
  let body: Record<string, unknown>;
  if (o.clear) body = {};
  else if (content) body = { files: [{ fileName: o.fileName, contentType: content.contentType, body: content.body }] };
  else body = { configs: [{ fileName: o.fileName, ...configRef(o.remoteConfig!) }] };
  await rt.client.request('PUT', `/agents/${enc(o.agent!)}/update-agent-config`, { body });
  rt.out(`agent/${o.agent} ${o.clear ? 'config cleared (it follows its group again)' : 'configured'}`);
}

/**
 * `update config --group NAME -f FILE`: the file becomes a new revision of the remote config the
 * group assigns under that file name (created, named after the group, when it assigns none), and
 * the group is changed only when it must point at it (or its pinned revision must move).
 */
async function updateGroup(rt: CliRuntime, o: UpdateConfigOptions, content: { body: string; contentType: string } | undefined): Promise<void> {
  const groupPath = `/agentgroups/${enc(o.group!)}`;
  const group = await rt.client.get<Resource>(groupPath);
  const configs = (Array.isArray(field(group, 'spec.configs')) ? (field(group, 'spec.configs') as Record<string, unknown>[]) : []).map((c) => ({ ...c }));
  const entry = configs.find((c) => c.fileName === o.fileName);
  let rcName: string;
  let revision: number | undefined;
  if (content) {
    rcName = o.remoteConfig ?? (entry ? String(entry.remoteConfig) : o.group!);
    const rcPath = `/remoteconfigs/${enc(rcName)}`;
    const query = o.message ? { message: o.message } : undefined;
    const current = await rt.client.find<Resource>(rcPath);
    if (!current) {
      const { body } = await rt.client.request<Resource>('POST', '/remoteconfigs', {
        body: { kind: 'RemoteConfig', apiVersion: 'v1', metadata: { name: rcName }, spec: content },
        query,
      });
      revision = Number(field(body, 'status.latestRevision'));
      rt.out(`remoteconfig/${rcName} created (revision ${revision})`);
    } else if (field(current, 'spec.body') === content.body && (field(current, 'spec.contentType') ?? 'application/yaml') === content.contentType) {
      revision = Number(field(current, 'status.latestRevision'));
      rt.out(`remoteconfig/${rcName} unchanged (revision ${revision})`);
    } else {
      const spec = { ...(current.spec ?? {}), ...content };
      const { body } = await rt.client.request<Resource>('PUT', rcPath, {
        body: { ...manifestBody(current), metadata: { name: rcName, resourceVersion: current.metadata?.resourceVersion }, spec },
        query,
      });
      revision = Number(field(body, 'status.latestRevision'));
      rt.out(`remoteconfig/${rcName} configured (revision ${revision})`);
    }
  } else {
    const ref = configRef(o.remoteConfig!);
    rcName = ref.remoteConfig;
    revision = ref.revision;
  }
  let changed = false;
  if (!entry) {
    configs.push({ fileName: o.fileName, remoteConfig: rcName, ...(!content && revision ? { revision } : {}) });
    changed = true;
  } else {
    if (entry.remoteConfig !== rcName) {
      entry.remoteConfig = rcName;
      changed = true;
    }
    // A pinned revision would keep the agents on the old content: move the pin (or set it, when one was named).
    const wanted = content ? (entry.revision !== undefined ? revision : undefined) : revision;
    if (wanted !== entry.revision) {
      if (wanted === undefined) delete entry.revision;
      else entry.revision = wanted;
      changed = true;
    }
  }
  if (!changed) {
    rt.out(`agentgroup/${o.group} unchanged`);
    return;
  }
  const next = manifestBody(group);
  next.metadata = { ...next.metadata, resourceVersion: group.metadata?.resourceVersion };
  next.spec = { ...(isObject(group.spec) ? group.spec : {}), configs };
  await rt.client.request('PUT', groupPath, { body: next });
  rt.out(`agentgroup/${o.group} configured`);
}

export function updateCommand(ctx: ProgramContext): Command {
  const update = new Command('update').description('change the configuration or the packages of an agent or an agent group');
  update
    .command('config')
    .description('set the configuration of one agent (--agent, its own, overriding groups) or of a group (--group, via its remote config)')
    .option('--agent <id>', 'the agent (instance uid)')
    .option('--group <name>', 'the agent group')
    .option('-f, --filename <file>', 'the configuration file (- for stdin)')
    .option('--file-name <name>', 'key in the agent config map ("" is the single-file Collector entry)', '')
    .option('--content-type <type>', 'media type (default: from the file extension)')
    .option('--remote-config <ref>', 'with -f and --group: the remote config to write; without -f: assign NAME[@REVISION]')
    .option('--clear', "--agent: remove the agent's own configuration")
    .option('-m, --message <text>', 'message recorded on the new remote config revision')
    .action(
      action(ctx, async (rt, o: UpdateConfigOptions) => {
        if (Boolean(o.agent) === Boolean(o.group)) throw new UsageError('update config needs exactly one of --agent ID or --group NAME');
        if (o.clear && (o.filename || o.remoteConfig || o.group)) throw new UsageError('--clear goes with --agent alone');
        if (!o.clear && !o.filename && !o.remoteConfig) throw new UsageError('update config needs -f FILE (or --remote-config NAME[@REV], or --clear)');
        let content: { body: string; contentType: string } | undefined;
        if (o.filename) {
          const body = o.filename === '-' ? await rt.readStdin() : readFile(o.filename);
          content = { body, contentType: o.contentType ?? (o.filename === '-' ? 'application/yaml' : contentTypeFor(o.filename)) };
        }
        if (o.agent) {
          if (content && o.remoteConfig) throw new UsageError('with --agent, give either -f or --remote-config');
          await updateAgent(rt, o, content);
        } else await updateGroup(rt, o, content);
      }),
    );
  updatePackagesCommand(update, ctx);
  return update;
}

export function restartCommand(ctx: ProgramContext): Command {
  return new Command('restart')
    .description('send a Restart command to a connected agent that accepts it')
    .argument('<type>', 'agent')
    .argument('<id>', 'the agent instance uid')
    .action(
      action(ctx, async (rt, _o: object, type: string, id: string) => {
        if (!['agent', 'agents', 'ag'].includes(type.toLowerCase())) throw new CliError(`only agents can be restarted, not "${type}"`);
        const { body } = await rt.client.request<Record<string, unknown>>('POST', `/agents/${enc(id)}/restart`, { body: {} });
        rt.out(`agent/${id} restart ${isObject(body) && body.delivery === 'next-poll' ? 'queued (sent on its next poll)' : 'sent'}`);
      }),
    );
}
