import { field, isObject, Resource } from './resource-fields';
import type { WaitOutcome } from './wait-status';
import { progressBar } from './wait-status';

/** `opampctl rollout status` and `wait rollout`: a rollout resource read for people and for exit codes. */

const TERMINAL_FAILURES = ['RolledBack', 'Aborted'];

/** `wait rollout NAME --for succeeded`: done on Succeeded, failed on RolledBack or Aborted. */
export function rolloutOutcome(r: Resource): WaitOutcome {
  const phase = field(r, 'status.phase');
  if (phase === 'Succeeded') return 'done';
  if (typeof phase === 'string' && TERMINAL_FAILURES.includes(phase)) return 'failed';
  return 'waiting';
}

/** `2/3` (the stage in progress, counted from 1). */
export function stageText(r: Resource): string {
  const stage = field(r, 'status.stage');
  const count = field(r, 'status.stageCount');
  if (typeof stage !== 'number' || typeof count !== 'number' || count === 0) return '<none>';
  return `${Math.min(stage + 1, count)}/${count}`;
}

/** The last condition's reason and message: why the rollout is where it is. */
export function lastCondition(r: Resource): { type?: string; reason?: string; message?: string } | undefined {
  const cs = field(r, 'status.conditions');
  if (!Array.isArray(cs) || !cs.length) return undefined;
  const c = cs[cs.length - 1];
  return isObject(c) ? (c as { type?: string; reason?: string; message?: string }) : undefined;
}

/** `; packages 1 installed, 0 installing, 0 failed, 2 pending` for a stage of a rollout of packages, else nothing. */
function packageCountsText(p: unknown): string {
  if (!isObject(p)) return '';
  return `; packages ${Number(p.installed ?? 0)} installed, ${Number(p.installing ?? 0)} installing, ${Number(p.failed ?? 0)} failed, ${Number(p.pending ?? 0)} pending`;
}

/** `; connection settings 1 applied, 0 applying, 0 failed, 2 pending` for a stage of a rollout of connection settings, else nothing. */
function settingsCountsText(c: unknown): string {
  if (!isObject(c)) return '';
  return `; connection settings ${Number(c.applied ?? 0)} applied, ${Number(c.applying ?? 0)} applying, ${Number(c.failed ?? 0)} failed, ${Number(c.pending ?? 0)} pending`;
}

const pct = (x: unknown) => (typeof x === 'number' ? `${Math.round(x * 1000) / 10}%` : '?');

/** The lines of `rollout status`: phase and why, one line per stage (with a bar on a terminal), the gate values, failed agents. */
export function rolloutStatusLines(r: Resource, opts: { tty?: boolean; barWidth?: number } = {}): string[] {
  const width = opts.barWidth ?? 20;
  const name = String(r.metadata?.name ?? '');
  const phase = String(field(r, 'status.phase') ?? 'Unknown');
  const last = lastCondition(r);
  const lines = [
    `rollout/${name}: ${phase}${last?.reason ? ` (${last.reason})` : ''}, stage ${stageText(r)}, ${field(r, 'status.reached') ?? 0}/${field(r, 'status.targetAgents') ?? '?'} agents reached`,
  ];
  if (last?.message) lines.push(`  ${last.message}`);
  const stages = field(r, 'status.stages');
  const current = field(r, 'status.stage');
  if (Array.isArray(stages)) {
    stages.forEach((s, i) => {
      if (!isObject(s)) return;
      const reached = Number(s.reached ?? 0);
      const applied = Number(s.applied ?? 0);
      const marker = i === current && !['Succeeded', 'RolledBack', 'Aborted'].includes(phase) ? '>' : ' ';
      lines.push(
        `${marker} stage ${i + 1}: ${opts.tty ? `${progressBar(applied, reached, width)} ` : ''}${applied}/${reached} applied, ${s.failed ?? 0} failed, ${s.pending ?? 0} pending${packageCountsText(s.packages)}${settingsCountsText(s.connectionSettings)}`,
      );
    });
  }
  const gates = field(r, 'status.gates');
  if (Array.isArray(gates) && gates.length) {
    lines.push('gates:');
    for (const g of gates) {
      if (!isObject(g)) continue;
      const control = g.control === undefined || g.control === null ? '' : ` (control ${pct(g.control)})`;
      lines.push(`  ${g.passed ? 'ok  ' : 'TRIP'} ${g.metric} ${g.agents}/${g.of} = ${pct(g.value)}${control}, max ${pct(g.threshold)}`);
    }
  }
  const failed = field(r, 'status.failedAgents');
  if (Array.isArray(failed) && failed.length) {
    lines.push('failed agents:');
    for (const f of failed) if (isObject(f)) lines.push(`  ${f.uid}: ${f.error}`);
  }
  return lines;
}
