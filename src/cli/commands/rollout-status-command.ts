import { Command } from 'commander';
import { Resource } from '../resource-fields';
import { rolloutOutcome, rolloutStatusLines } from '../rollout-status';
import { action, duration, ProgramContext, sleep } from './command-kit';

/** `rollout status NAME [-w]`: phase and why, stages with their counts (bars on a terminal), gate values, failed agents. */
export function rolloutStatusCommand(ctx: ProgramContext): Command {
  return new Command('status')
    .description('show where a rollout stands: phase, stages and their counts, gate values, failed agents')
    .argument('<name>', 'rollout name')
    .option('-w, --watch', 'show it again as it changes, until it ends')
    .option('--interval <duration>', 'how often to look with --watch', duration, 1000)
    .action(
      action(ctx, async (rt, o: { watch?: boolean; interval: number }, name: string) => {
        let last = '';
        for (;;) {
          const r = await rt.client.get<Resource>(`/rollouts/${encodeURIComponent(name)}`);
          const text = rolloutStatusLines(r, { tty: Boolean(rt.io.stdout.isTTY) }).join('\n');
          if (text !== last) rt.out(text);
          last = text;
          if (!o.watch || rolloutOutcome(r) !== 'waiting') return;
          await sleep(o.interval);
        }
      }),
    );
}
