import type { ConfigLog } from './load-protocol';

/**
 * The figures of the rollout scenario, from what the server wrote down (the rollout's
 * conditions, each with its time) and what the simulated agents saw (ConfigLog: each config
 * they received, when, what they reported and when that was answered). Pure, so that the
 * arithmetic (where the controller's time goes, who got the new hash) has a spec of its own.
 */

/** A condition of a rollout's status as the API shows it. */
export interface RolloutConditionView {
  type: string;
  reason: string;
  message: string;
  at: string;
}

export interface StageFigures {
  /** 1-based, as the conditions name it. */
  stage: number;
  /** Agents that received the new hash while this stage was the current one. */
  agents: number;
  /** Stage start (StageStarted) → the first and the last of its agents received the new config (the server's push). */
  firstReceivedS: number;
  receivedS: number;
  /** Stage start → the last of its agents reported APPLIED (sent it); NaN when some never applied. */
  toAllAppliedS: number;
  /** Stage start → the server answered the last of those reports (its write stored). */
  answeredS: number;
  /** The last APPLIED sent → the controller's Baking condition (how long it took to see the stage had settled). */
  noticedS: number;
  /** Baking → StagePassed (or Succeeded), minus the stage's bake time: how far the bake ran over. */
  bakeOverS: number;
  /** StagePassed → the next stage's StageStarted (0 for the last stage). */
  advanceS: number;
}

export interface RolloutFigures {
  /** The request that created the rollout → its Succeeded condition. */
  totalS: number;
  /** The bake times asked for (stages × bake). */
  bakesS: number;
  /** total − bakes: what the controller and the fleet took beyond the waits asked for. */
  overheadS: number;
  /** The request → the first stage's StageStarted (creation, start, first reach). */
  startS: number;
  stages: StageFigures[];
}

const at = (c: RolloutConditionView) => Date.parse(c.at);
const stageOf = (c: RolloutConditionView) => Number(/^stage (\d+)\//.exec(c.message)?.[1] ?? NaN);

/** The first event of each agent with this hash (the moment it got the new config), with its log. */
function receiversOf(log: readonly ConfigLog[], hash: string) {
  return log.flatMap((l) => {
    const i = l.events.findIndex((e) => e.hash === hash);
    return i < 0 ? [] : [{ log: l, index: i, event: l.events[i] }];
  });
}

/**
 * Where the time of a rollout that succeeded went. `createdAt`: epoch ms just before the POST;
 * `toHash`: the rollout's config hash (hex), `bakeSeconds`: the bake of every stage.
 */
export function rolloutFigures(
  conditions: readonly RolloutConditionView[],
  log: readonly ConfigLog[],
  toHash: string,
  createdAt: number,
  bakeSeconds: number,
): RolloutFigures {
  const started = conditions.filter((c) => c.reason === 'StageStarted');
  const succeeded = conditions.find((c) => c.type === 'Succeeded');
  const end = succeeded ? at(succeeded) : NaN;
  const receivers = receiversOf(log, toHash);
  const stages = started.map((c, i): StageFigures => {
    const k = stageOf(c);
    const from = at(c);
    const until = i + 1 < started.length ? at(started[i + 1]) : Infinity;
    const mine = receivers.filter((r) => r.event.at >= from && r.event.at < until);
    const applied = mine.length > 0 && mine.every((r) => r.event.status === 'APPLIED' && r.event.reportedAt !== undefined);
    const latest = (pick: (e: (typeof mine)[number]['event']) => number | undefined) => (applied ? Math.max(...mine.map((r) => pick(r.event) ?? NaN)) : NaN);
    const lastReport = latest((e) => e.reportedAt);
    const baking = conditions.find((x) => x.reason === 'Baking' && stageOf(x) === k);
    const passed = conditions.find((x) => (x.reason === 'StagePassed' && stageOf(x) === k) || (i === started.length - 1 && x.type === 'Succeeded'));
    const bakeFrom = baking ? at(baking) : NaN;
    return {
      stage: k,
      agents: mine.length,
      firstReceivedS: mine.length ? (Math.min(...mine.map((r) => r.event.at)) - from) / 1000 : NaN,
      receivedS: (latest((e) => e.at) - from) / 1000,
      toAllAppliedS: (lastReport - from) / 1000,
      answeredS: (latest((e) => e.ackAt) - from) / 1000,
      noticedS: (bakeFrom - lastReport) / 1000,
      bakeOverS: (passed ? at(passed) - bakeFrom : NaN) / 1000 - bakeSeconds,
      advanceS: i + 1 < started.length && passed ? (until - at(passed)) / 1000 : 0,
    };
  });
  const totalS = (end - createdAt) / 1000;
  const bakesS = started.length * bakeSeconds;
  return { totalS, bakesS, overheadS: totalS - bakesS, startS: started.length ? (at(started[0]) - createdAt) / 1000 : NaN, stages };
}

export interface RollbackFigures {
  /** The GateTripped condition's time (epoch ms); NaN when the gate never tripped. */
  trippedAt: number;
  /** The first stage's StageStarted → the gate tripping. */
  tripAfterS: number;
  /** Agents that ever received the new hash. */
  gotNewHash: number;
  /** Of those, the ones that received it after the first stage (they should not exist). */
  gotNewHashLater: number;
  /** Agents that got the new hash and then reported APPLIED for the hash they held before, answered. */
  back: number;
  /** The gate tripping → the last of those answers; NaN until every one is back. */
  rollbackS: number;
}

/**
 * What a rollback did: who got the new hash (only agents of the first stage may have), and how
 * long after the gate tripped the last of them had reported APPLIED for the config it held
 * before the rollout (and had that report answered).
 */
export function rollbackFigures(conditions: readonly RolloutConditionView[], log: readonly ConfigLog[], toHash: string): RollbackFigures {
  const trip = conditions.find((c) => c.reason === 'GateTripped');
  const trippedAt = trip ? at(trip) : NaN;
  const first = conditions.find((c) => c.reason === 'StageStarted');
  const second = conditions.filter((c) => c.reason === 'StageStarted')[1];
  const receivers = receiversOf(log, toHash);
  const backAt = receivers.map((r) => {
    const again = r.log.events.slice(r.index + 1).find((e) => e.hash === r.log.before && e.status === 'APPLIED' && e.ackAt !== undefined);
    return again?.ackAt;
  });
  const back = backAt.filter((t): t is number => t !== undefined);
  // After the first stage: once a second stage started, or once the gate had tripped (a later push).
  const firstEnds = second ? at(second) : trippedAt;
  return {
    trippedAt,
    tripAfterS: first ? (trippedAt - at(first)) / 1000 : NaN,
    gotNewHash: receivers.length,
    gotNewHashLater: receivers.filter((r) => r.event.at >= firstEnds).length,
    back: back.length,
    rollbackS: back.length === receivers.length && back.length > 0 ? (Math.max(...back) - trippedAt) / 1000 : NaN,
  };
}
