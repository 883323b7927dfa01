import { field, isObject, Resource } from './resource-fields';

/**
 * `wait --for applied`: where each agent stands with the configuration it should run, and when
 * a wait is over. An agent's answer of `GET /agents/{id}/desired-config` tells what it should run
 * (its hash, computed now) and the delivery state the server tracks (with the hash it was for),
 * so a state left over from before the latest change is never mistaken for the new one.
 */

export type AgentConfigState = 'applied' | 'applying' | 'pending' | 'failed' | 'unsupported' | 'unassigned';

export interface DesiredConfig {
  assigned?: boolean;
  acceptsRemoteConfig?: boolean;
  hash?: string;
  error?: string;
  delivery?: { state?: string; desiredHash?: string; error?: string; unconfirmed?: boolean };
  /** Where the desired config comes from: `{kind: 'group', group}` or `{kind: 'agent'}` (its own). */
  origin?: { kind?: string; group?: string };
}

/**
 * Whether a group's wait counts this agent: its desired config must come from that group. An
 * agent the group matches but that another group (or its own config) governs runs someone else's
 * config, whose being applied says nothing about this group's. Agents with nothing assigned stay
 * in (they have nothing to wait for either way).
 */
export function governedBy(d: DesiredConfig, group: string): boolean {
  if (!d.assigned || !d.origin) return true;
  return d.origin.kind === 'group' && d.origin.group === group;
}

export interface AgentVerdict {
  state: AgentConfigState;
  error?: string;
}

/** The state of one agent's current desired configuration. */
export function agentConfigState(d: DesiredConfig): AgentVerdict {
  if (d.error) return { state: 'failed', error: d.error };
  if (!d.assigned) return { state: 'unassigned' };
  if (d.acceptsRemoteConfig === false) return { state: 'unsupported' };
  const delivery = d.delivery;
  if (!delivery?.state) return { state: 'pending' };
  if (d.hash && delivery.desiredHash && delivery.desiredHash !== d.hash) return { state: 'pending' };
  switch (delivery.state) {
    case 'applied':
      return { state: 'applied' };
    case 'applying':
      return { state: 'applying' };
    case 'failed':
      return { state: 'failed', error: delivery.error };
    case 'unsupported':
      return { state: 'unsupported' };
    default:
      return { state: 'pending' };
  }
}

export interface AgentProgress {
  uid: string;
  connected: boolean;
  verdict: AgentVerdict;
  /** A group's wait: the agent's config comes from elsewhere (see governedBy), so it is left out. */
  elsewhere?: boolean;
}

export interface Tally {
  /** Agents counted: connected ones, and disconnected ones that already run the config. */
  total: number;
  applied: number;
  applying: number;
  pending: number;
  failed: number;
  /** Agents that accept no remote config, or have none assigned: nothing to wait for. */
  skipped: number;
  /** Disconnected agents that do not run the config yet: left out of the total. */
  disconnected: number;
  /** Agents the group matches but does not govern: left out of the total. */
  elsewhere: number;
}

export function tally(agents: AgentProgress[]): Tally {
  const t: Tally = { total: 0, applied: 0, applying: 0, pending: 0, failed: 0, skipped: 0, disconnected: 0, elsewhere: 0 };
  for (const a of agents) {
    if (a.elsewhere) {
      t.elsewhere++;
      continue;
    }
    const s = a.verdict.state;
    if (!a.connected && s !== 'applied' && s !== 'failed') {
      t.disconnected++;
      continue;
    }
    t.total++;
    if (s === 'unsupported' || s === 'unassigned') t.skipped++;
    else t[s]++;
  }
  return t;
}

export type WaitOutcome = 'done' | 'failed' | 'waiting';

/** Done when at least one agent counts and all of them are applied (or have nothing to apply); failed as soon as one failed. */
export function configOutcome(t: Tally): WaitOutcome {
  if (t.failed > 0) return 'failed';
  if (t.total > 0 && t.applied + t.skipped === t.total) return 'done';
  return 'waiting';
}

/** `1/3 applied (1 applying, 1 pending)`. */
export function tallyText(t: Tally): string {
  const extra = [
    t.applying && `${t.applying} applying`,
    t.pending && `${t.pending} pending`,
    t.failed && `${t.failed} failed`,
    t.skipped && `${t.skipped} without remote config`,
    t.disconnected && `${t.disconnected} disconnected`,
    t.elsewhere && `${t.elsewhere} matched but governed by another group or their own config`,
  ].filter(Boolean);
  const none = t.elsewhere && !t.disconnected ? 'no agents governed by this group' : 'no connected agents yet';
  const main = t.total === 0 ? none : `${t.applied + t.skipped}/${t.total} applied`;
  return extra.length ? `${main} (${extra.join(', ')})` : main;
}

/** `[########------------]` of `width` characters inside the brackets. */
export function progressBar(done: number, total: number, width = 30): string {
  const w = Math.max(1, width);
  const filled = total > 0 ? Math.min(w, Math.round((done / total) * w)) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}]`;
}

/** Other conditions of `wait`, read from an agent or group resource. */
export function resourceCondition(kind: 'agent' | 'agentgroup', condition: 'connected' | 'healthy', r: Resource): { met: boolean; text: string } {
  if (kind === 'agent') {
    const v = condition === 'connected' ? field(r, 'status.connected') : field(r, 'status.health.healthy');
    return { met: v === true, text: `${condition}=${v === undefined ? 'unknown' : String(v)}` };
  }
  const st = isObject(r.status) ? r.status : {};
  const agents = Number(st.agents ?? 0);
  const n = Number(st[condition] ?? 0);
  return { met: agents > 0 && n === agents, text: `${n}/${agents} ${condition}` };
}
