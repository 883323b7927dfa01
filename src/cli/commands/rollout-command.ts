import { Command } from 'commander';
import { Resource } from '../resource-fields';
import { lastCondition } from '../rollout-status';
import { action, ProgramContext } from './command-kit';
import { rolloutStatusCommand } from './rollout-status-command';

const ACTIONS: [string, string][] = [
  ['pause', 'stop moving to further agents (the agents reached keep the new config)'],
  ['resume', 'go on from where a paused rollout stopped'],
  ['approve', 'approve the current stage (a stage with approval: true waits for this)'],
  ['abort', 'stop for good and leave agents as they are'],
  ['undo', "roll back: the agents reached get the group's previous config again"],
  ['retry', 'start a rolled-back rollout again from its first stage; agents that reported its config FAILED get it again'],
];

/** `rollout status|pause|resume|approve|abort|undo|retry NAME`. */
export function rolloutCommand(ctx: ProgramContext): Command {
  const cmd = new Command('rollout').description('watch and steer staged rollouts (status, pause, resume, approve, abort, undo, retry)');
  cmd.addCommand(rolloutStatusCommand(ctx));
  for (const [verb, description] of ACTIONS) {
    cmd.addCommand(
      new Command(verb)
        .description(description)
        .argument('<name>', 'rollout name')
        .action(
          action(ctx, async (rt, _o: unknown, name: string) => {
            const r = (await rt.client.request<Resource>('POST', `/rollouts/${encodeURIComponent(name)}/${verb}`)).body;
            const c = lastCondition(r);
            rt.out(`rollout/${name} ${String(r.status?.phase ?? '')}${c?.message ? `: ${c.message}` : ''}`);
          }),
        ),
    );
  }
  return cmd;
}
