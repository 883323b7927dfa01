import { Command, Option } from 'commander';
import { ApiError, CliError, errorLine, NetworkError, UsageError } from '../cli-errors';
import type { CliRuntime } from '../cli-runtime';
import { humanDuration } from '../human-time';
import { Resource } from '../resource-fields';
import { resolveResourceType } from '../resource-types';
import { lastCondition, rolloutOutcome, stageText } from '../rollout-status';
import {
  AgentProgress,
  agentConfigState,
  configOutcome,
  DesiredConfig,
  governedBy,
  progressBar,
  resourceCondition,
  tally,
  Tally,
  tallyText,
} from '../wait-status';
import { action, duration, ProgramContext, sleep } from './command-kit';

type Condition = 'applied' | 'connected' | 'healthy' | 'succeeded';

interface WaitOptions {
  for: Condition;
  timeout: number;
  interval: number;
}

const enc = encodeURIComponent;

/**
 * Where the agents of a wait stand with their configuration: each one's desired config and
 * delivery state. For a group's wait (`group` set), agents whose config comes from elsewhere are marked.
 */
async function agentsProgress(rt: CliRuntime, agents: Resource[], group?: string): Promise<AgentProgress[]> {
  const out: AgentProgress[] = new Array(agents.length);
  let next = 0;
  // A few requests at a time: one per agent per poll.
  const worker = async () => {
    while (next < agents.length) {
      const i = next++;
      const uid = String(agents[i].metadata?.name);
      const d = await rt.client.get<DesiredConfig>(`/agents/${enc(uid)}/desired-config`);
      out[i] = { uid, connected: agents[i].status?.connected === true, verdict: agentConfigState(d), elsewhere: group !== undefined && !governedBy(d, group) };
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, agents.length) }, worker));
  return out;
}

/** Shows progress: a bar redrawn in place on a terminal, a line per change otherwise. */
class ProgressView {
  private last = '';
  private drawn = false;
  constructor(private readonly rt: CliRuntime) {}

  update(label: string, done: number, total: number, summary: string, elapsedMs: number): void {
    const tty = Boolean(this.rt.io.stderr.isTTY);
    if (tty) {
      const width = Math.max(10, Math.min(30, (this.rt.io.stderr.columns ?? 80) - label.length - summary.length - 16));
      this.rt.io.stderr.write(`\r\x1b[2K${label} ${progressBar(done, total, width)} ${summary} ${humanDuration(elapsedMs)}`);
      this.drawn = true;
    } else if (summary !== this.last) {
      this.rt.err(`${label}: ${summary}`);
    }
    this.last = summary;
  }

  end(): void {
    if (this.drawn) this.rt.io.stderr.write('\n');
    this.drawn = false;
  }
}

/** `wait agent ID --for applied|connected|healthy`, `wait agentgroup NAME --for ...`. */
export function waitCommand(ctx: ProgramContext): Command {
  return new Command('wait')
    .description(
      'wait until an agent, or every connected agent a group governs, has applied its configuration (or is connected/healthy), or a rollout has succeeded',
    )
    .argument('<type>', 'agent, agentgroup or rollout')
    .argument('<name>', 'agent uid, group or rollout name')
    .addOption(
      new Option('--for <condition>', 'what to wait for (rollouts: succeeded, the default for them)').choices(['applied', 'connected', 'healthy', 'succeeded']),
    )
    .addOption(new Option('--timeout <duration>', 'give up (exit 1) after this long').argParser(duration).default(5 * 60_000, '5m'))
    .addOption(new Option('--interval <duration>', 'how often to poll').argParser(duration).default(1000, '1s'))
    .action(
      action(ctx, async (rt, o: WaitOptions, type: string, name: string) => {
        const t = resolveResourceType(type);
        if (t.plural !== 'agents' && t.plural !== 'agentgroups' && t.plural !== 'rollouts')
          throw new CliError(`wait works on agents, agentgroups and rollouts, not ${t.plural}`);
        if (t.plural === 'rollouts') {
          if (o.for !== undefined && o.for !== 'succeeded') throw new UsageError('a rollout is waited for with --for succeeded');
          return waitRollout(rt, name, o);
        }
        o.for ??= 'applied';
        if (o.for === 'succeeded') throw new UsageError('--for succeeded is for rollouts');
        const kind = t.plural === 'agents' ? 'agent' : 'agentgroup';
        const label = `${kind}/${name}`;
        const started = Date.now();
        const view = new ProgressView(rt);
        /** One look at the resource (and, for applied, at its agents' desired configs). */
        const poll = async (): Promise<{ done: boolean; failure?: string; counts: { done: number; total: number }; summary: string }> => {
          const resource = await rt.client.get<Resource>(`${t.path}/${enc(name)}`);
          if (o.for !== 'applied') {
            const c = resourceCondition(kind, o.for as 'connected' | 'healthy', resource);
            return { done: c.met, counts: { done: c.met ? 1 : 0, total: 1 }, summary: c.text };
          }
          const agents = kind === 'agent' ? [resource] : (await rt.client.list(`/agentgroups/${enc(name)}/agents`, { limit: 1000 }, true)).items;
          const progress = await agentsProgress(rt, agents, kind === 'agentgroup' ? name : undefined);
          const tl: Tally = tally(progress);
          const outcome = configOutcome(tl);
          const failure =
            outcome === 'failed'
              ? progress
                  .filter((p) => p.verdict.state === 'failed')
                  .map((p) => `${p.uid}${p.verdict.error ? `: ${p.verdict.error}` : ''}`)
                  .join('; ')
              : undefined;
          return {
            done: outcome === 'done',
            failure,
            counts: { done: tl.applied + tl.skipped, total: tl.total },
            summary: kind === 'agent' && tl.disconnected ? 'agent is not connected' : tallyText(tl),
          };
        };
        let summary = '';
        try {
          for (;;) {
            try {
              const r = await poll();
              summary = r.summary;
              view.update(label, r.counts.done, r.counts.total, summary, Date.now() - started);
              if (r.failure) throw new CliError(`${label}: configuration FAILED (${r.failure})`);
              if (r.done) {
                view.end();
                rt.out(`${label} condition met: ${summary}`);
                return;
              }
            } catch (err) {
              // A server that is restarting (or a replica going away) is waited out like a slow agent.
              const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
              if (!transient) throw err;
              summary = `server unavailable: ${errorLine(err)}`;
              view.update(label, 0, 0, summary, Date.now() - started);
            }
            if (Date.now() - started >= o.timeout) {
              throw new CliError(`timed out after ${humanDuration(o.timeout)} waiting for ${label} to be ${o.for}: ${summary}`);
            }
            await sleep(Math.min(o.interval, Math.max(0, o.timeout - (Date.now() - started))));
          }
        } finally {
          view.end();
        }
      }),
    );
}

/** `wait rollout NAME --for succeeded`: exit 0 on Succeeded, 1 on RolledBack or Aborted (or the timeout). */
async function waitRollout(rt: CliRuntime, name: string, o: WaitOptions): Promise<void> {
  const label = `rollout/${name}`;
  const started = Date.now();
  const view = new ProgressView(rt);
  let summary = '';
  try {
    for (;;) {
      try {
        const r = await rt.client.get<Resource>(`/rollouts/${enc(name)}`);
        const c = lastCondition(r);
        summary = `${String(r.status?.phase ?? '?')}${c?.reason ? ` (${c.reason})` : ''}, stage ${stageText(r)}`;
        view.update(label, Number(r.status?.reached ?? 0), Number(r.status?.targetAgents ?? 0), summary, Date.now() - started);
        const outcome = rolloutOutcome(r);
        if (outcome === 'failed') throw new CliError(`${label}: ${summary}${c?.message ? `: ${c.message}` : ''}`);
        if (outcome === 'done') {
          view.end();
          rt.out(`${label} condition met: ${summary}`);
          return;
        }
      } catch (err) {
        const transient = err instanceof NetworkError || (err instanceof ApiError && (err.status >= 500 || err.status === 429));
        if (!transient) throw err;
        summary = `server unavailable: ${errorLine(err)}`;
      }
      if (Date.now() - started >= o.timeout) throw new CliError(`timed out after ${humanDuration(o.timeout)} waiting for ${label} to succeed: ${summary}`);
      await sleep(Math.min(o.interval, Math.max(0, o.timeout - (Date.now() - started))));
    }
  } finally {
    view.end();
  }
}
