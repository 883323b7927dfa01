import { createHash } from 'node:crypto';

/**
 * Which agents each stage of a rollout reaches. Stages are cumulative (stage 3 includes stages 1
 * and 2). Agents are ordered by a hash of the rollout's name and their uid, read as a fraction
 * in [0, 1): a retried rollout of the same name picks the same canaries, and an agent that joins
 * the target later lands in the stage its fraction falls in, whatever the fleet's size then.
 */

/** One stage as written: a count, or a percentage of the target, optionally only among agents a selector matches. */
export interface StageSpec {
  /** Agents to add in this stage, counted among those it may pick (count and percent are exclusive). */
  count?: number;
  /** Share of the target (0 < percent ≤ 100) the rollout reaches by the end of this stage. */
  percent?: number;
  /** Only agents this predicate admits are picked by this stage (a per-stage selector, e.g. ring=canary). */
  matches?: (uid: string) => boolean;
}

/** `initial: 3, multiplier: 5` → 3, 15, 75, … agents, then everyone. */
export function geometricStages(initial: number, multiplier: number, total: number): StageSpec[] {
  if (!Number.isInteger(initial) || initial < 1) throw new RangeError('initial must be a positive integer');
  if (!(multiplier > 1)) throw new RangeError('multiplier must be greater than 1');
  const stages: StageSpec[] = [];
  for (let n = initial; n < total; n = Math.ceil(n * multiplier)) stages.push({ count: n });
  stages.push({ percent: 100 });
  return stages;
}

/** The agent's place in this rollout's order: a fraction in [0, 1) from the first 52 bits of a SHA-256. */
export function rolloutFraction(rollout: string, uid: string): number {
  const h = createHash('sha256').update(rollout).update('\0').update(uid).digest();
  // 52 bits fit a double exactly: 4 bytes and the high 20 bits of the next 3.
  const hi = h.readUInt32BE(0);
  const lo = h.readUIntBE(4, 3) >>> 4;
  return (hi * 2 ** 20 + lo) / 2 ** 52;
}

/**
 * The uids each stage has reached by its end (cumulative), for a target of `uids`. A percent
 * stage takes every agent whose fraction is below the percentage and, so that small fleets are
 * not skipped, at least ceil(percent × target) agents in order. A count stage adds that many
 * agents in order. A stage with `matches` picks only among the agents it admits (all of them
 * when it gives neither count nor percent).
 */
export function planStages(rollout: string, uids: readonly string[], stages: readonly StageSpec[]): string[][] {
  const ordered = [...new Set(uids)].map((uid) => ({ uid, f: rolloutFraction(rollout, uid) })).sort((a, b) => a.f - b.f || (a.uid < b.uid ? -1 : 1));
  const reached = new Set<string>();
  const out: string[][] = [];
  for (const stage of stages) {
    if (stage.count !== undefined && stage.percent !== undefined) throw new RangeError('a stage gives a count or a percent, not both');
    const eligible = ordered.filter((a) => !stage.matches || stage.matches(a.uid));
    if (stage.percent !== undefined) {
      if (!(stage.percent > 0 && stage.percent <= 100)) throw new RangeError(`percent must be in (0, 100], got ${stage.percent}`);
      const p = stage.percent / 100;
      const atLeast = Math.ceil(p * eligible.length);
      let taken = eligible.filter((a) => reached.has(a.uid)).length;
      for (const a of eligible) {
        if (reached.has(a.uid)) continue;
        if (a.f < p || taken < atLeast) {
          reached.add(a.uid);
          taken++;
        }
      }
    } else if (stage.count !== undefined) {
      if (!Number.isInteger(stage.count) || stage.count < 1) throw new RangeError(`count must be a positive integer, got ${stage.count}`);
      let added = 0;
      for (const a of eligible) {
        if (added >= stage.count) break;
        if (reached.has(a.uid)) continue;
        reached.add(a.uid);
        added++;
      }
    } else {
      for (const a of eligible) reached.add(a.uid);
    }
    out.push(ordered.filter((a) => reached.has(a.uid)).map((a) => a.uid));
  }
  return out;
}

/** Parses a stage as the API takes it: `1`, `25%`, or a number. */
export function parseStage(text: string | number): StageSpec {
  if (typeof text === 'number') return { count: text };
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(text);
  if (!m) throw new RangeError(`a stage is a count (5) or a percentage (25%), got ${JSON.stringify(text)}`);
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}
