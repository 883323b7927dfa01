import { SERVER_OFFERS_REMOTE_CONFIG } from '../fleet-messages';
import { newGenerator, probeGrpc, rampUp, RunEnv, sleep, startTarget, Unsupported } from '../fleet-run';
import { num, ResultsSection, secs } from '../report';
import { RolloutConditionView, rollbackFigures, rolloutFigures } from '../rollout-figures';
import { dbWorkCell, dbWorkSummary, metricsWindow, scrapeMetrics } from '../server-metrics';
import { assignRevision1, call, configBody, createRemoteConfig, groupName, NO_REMOTE_CONFIG, TriggerContext } from './config-rollout';
import { Outcome, runName } from './outcome';

export const ROLLOUT: ResultsSection = {
  id: 'rollout',
  title: 'rollout (issue 19: staged rollouts)',
  about:
    'N connected agents in one agent group that runs revision 1; a Rollout (`POST /api/v1/rollouts`) of a second remote config to the group in the stages shown, ' +
    'each with the bake time shown, default gate (applyFailed, maxRatio 0), --apply-ms 100. Total = the POST → the Succeeded condition; ' +
    'overhead = total − the bake times asked for, split into: start (POST → stage 1 reaches its agents), push (each stage start → its last agent received the config), ' +
    "apply (→ its last agent sent APPLIED), notice (→ the controller's Baking condition), bake over (bake ran longer than asked), advance (StagePassed → next stage reaches its agents), summed over the stages. " +
    'Per stage = its agents, and stage start → the last of them received the config / sent APPLIED / had that answered. Resends = a config sent again to an agent that had its hash (the rollout window and 3 s after). ' +
    'DB work = database commands, documents and bytes written in that window, per 1,000 agent messages the server received (and in total).',
  columns: [
    'Run',
    'Result',
    'Total to Succeeded',
    'Bakes',
    'Controller overhead',
    'start / push / apply / notice / bake over / advance',
    'Per stage: agents, start → all received / APPLIED / answered',
    'Resends',
    'DB work / 1k agent msgs',
  ],
};

export const ROLLOUT_ROLLBACK: ResultsSection = {
  id: 'rollout-rollback',
  title: 'rollout, canaries fail (issue 19: rollback)',
  about:
    'As the rollout table, but every agent that receives the new revision reports FAILED for it (--canaries-fail), so the applyFailed gate trips in stage 1 and the rollout rolls back. ' +
    "Gate trips after = stage 1 starts → the GateTripped condition; rollback = the GateTripped condition → the last reached agent's APPLIED of the config it ran before answered. " +
    'Got the new hash = agents that ever received it (stage 1 reached) and, of them, any after stage 1 (must be 0).',
  columns: [
    'Run',
    'Result',
    'Stage 1 reached',
    'Gate trips after',
    'Rollback (trip → all back on the old config)',
    'Got the new hash (after stage 1)',
    'Resends',
    'DB work / 1k agent msgs',
  ],
};

/** Text in the new revision that makes every agent receiving it report FAILED (--canaries-fail). */
const FAIL_MARKER = '# bench: the canaries fail this revision';
const TERMINAL = ['Succeeded', 'RolledBack', 'Aborted', 'Paused'];

interface RolloutView {
  status: {
    phase: string;
    stage: number;
    reached: number;
    toHash?: string;
    stages: { reached: number; applied: number; failed: number; pending: number }[];
    conditions: RolloutConditionView[];
  };
}

async function getRollout(ctx: TriggerContext, name: string): Promise<RolloutView> {
  return JSON.parse((await call(ctx, 'GET', `/api/v1/rollouts/${name}`)).text) as RolloutView;
}

export async function rollout(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const target = await startTarget(env, 'opamp-commander');
  if (args.transport === 'grpc') await probeGrpc(target.port);
  const gen = newGenerator(env, target, args.agents, { failMarker: args.canariesFail ? FAIL_MARKER : '' });
  await gen.start();
  env.log(`ramping ${num(args.agents)} ${args.transport} agents at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  if (!ramp.complete) throw new Error(`only ${num(ramp.established)} of ${num(args.agents)} agents connected`);
  if (!(ramp.serverCapabilities & SERVER_OFFERS_REMOTE_CONFIG)) throw new Unsupported(`${NO_REMOTE_CONFIG}: its capabilities lack OffersRemoteConfig (0x2)`);
  // Not measured: every agent runs revision 1 of the group's config; revision 2 is a second remote config no one gets yet.
  const { ctx, initial, a0 } = await assignRevision1(env, target, gen);
  if (initial.configAcked < args.agents) throw new Error(`only ${num(initial.configAcked)} of ${num(args.agents)} agents reported revision 1`);
  env.log(`revision 1: all ${num(args.agents)} reported in ${secs((initial.lastConfigAckAt - a0) / 1000)}`);
  const group = groupName(env.runId);
  const next = `${group.slice(0, 58)}-next`;
  ctx.revision = 2;
  await createRemoteConfig(ctx, next, configBody(ctx) + (args.canariesFail ? `${FAIL_MARKER}\n` : ''), 'bench rollout');
  await sleep(2000);

  // The measured rollout.
  gen.reset();
  const name = `${group.slice(0, 55)}-rollout`;
  const stages = args.stages.map((stage) => ({ stage, bakeSeconds: args.bake }));
  const sm0 = target.api ? await scrapeMetrics(target.api) : undefined;
  const t0 = Date.now();
  env.log(`creating rollout ${name}: stages ${args.stages.join(', ')}, bake ${args.bake} s${args.canariesFail ? ', canaries fail' : ''}...`);
  await call(ctx, 'POST', '/api/v1/rollouts', {
    kind: 'Rollout',
    apiVersion: 'v1',
    metadata: { name },
    spec: { target: { group }, configs: [{ fileName: '', remoteConfig: next }], stages, onGateTrip: 'rollback' },
  });
  let r = await getRollout(ctx, name);
  let lastLog = Date.now();
  while (!TERMINAL.includes(r.status.phase) && Date.now() - t0 < args.configTimeout * 1000) {
    if (target.dead) throw new Error('the server died during the rollout');
    await Promise.race([sleep(250), gen.failed()]);
    r = await getRollout(ctx, name);
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      const s = await gen.stats();
      env.log(
        `[rollout ${((Date.now() - t0) / 1000).toFixed(0)}s] ${r.status.phase} stage ${r.status.stage + 1}, reached ${num(r.status.reached)}; ` +
          `agents: received ${num(s.configReceived)} applied ${num(s.configApplied)} failed ${num(s.configFailed)} resends ${num(s.configDuplicates)}`,
      );
    }
  }
  const seenAt = Date.now();
  const phase = r.status.phase;
  env.log(`rollout ${phase} after ${secs((seenAt - t0) / 1000)} (seen by polling)`);
  const toHash = r.status.toHash ?? '';

  if (args.canariesFail) {
    // Wait until every agent that got the new hash has reported APPLIED for the config it had before.
    let back = rollbackFigures(r.status.conditions, await gen.configLog(), toHash);
    while (phase === 'RolledBack' && (back.back < back.gotNewHash || back.gotNewHash === 0) && Date.now() - seenAt < args.configTimeout * 1000) {
      await Promise.race([sleep(250), gen.failed()]);
      back = rollbackFigures(r.status.conditions, await gen.configLog(), toHash);
    }
  }
  // Anything sent after the end (a resend, a late stage) lands in the window too.
  await sleep(3000);
  const db = metricsWindow(sm0, target.api ? await scrapeMetrics(target.api) : undefined);
  r = await getRollout(ctx, name);
  const log = await gen.configLog();
  const full = await gen.stats();
  await gen.stop();
  const key = runName(args, `stages ${args.stages.join(' ')}, bake ${args.bake} s`);
  const dbCell = db?.dbCommands === undefined ? 'n/a' : `${dbWorkCell(db)} (total ${num(db.dbCommands)} cmds)`;
  const stats = { ...full, latency: undefined, latencyAll: undefined, firstAnswer: undefined, otlpLatency: undefined };

  if (args.canariesFail) {
    const b = rollbackFigures(r.status.conditions, log, toHash);
    const ok = phase === 'RolledBack' && b.back === b.gotNewHash && b.gotNewHash > 0 && b.gotNewHashLater === 0;
    const stage1 = r.status.stages[0]?.reached ?? 0;
    return {
      exitCode: ok ? 0 : 1,
      summary: [
        ['agents', num(args.agents)],
        ['rollout phase', phase],
        ['stage 1 reached', num(stage1)],
        ['gate tripped after stage 1 started', secs(b.tripAfterS)],
        ['rollback: gate tripped → all reached agents APPLIED the old config', secs(b.rollbackS)],
        ['agents back on the old config', `${num(b.back)} of ${num(b.gotNewHash)}`],
        ['agents that got the new hash / after stage 1', `${num(b.gotNewHash)} / ${num(b.gotNewHashLater)}`],
        ['resends of a config the agent had', num(full.configDuplicates)],
        ['database work of the rollout', dbWorkSummary(db)],
      ],
      json: { ramp, rollout: r, rollback: b, db, stats },
      rows: [
        {
          section: ROLLOUT_ROLLBACK,
          key,
          cells: [
            ok ? 'ok' : phase === 'RolledBack' ? 'incomplete' : `not rolled back (${phase})`,
            num(stage1),
            secs(b.tripAfterS),
            secs(b.rollbackS),
            `${num(b.gotNewHash)} (${num(b.gotNewHashLater)})`,
            num(full.configDuplicates),
            dbCell,
          ],
        },
      ],
    };
  }

  const f = rolloutFigures(r.status.conditions, log, toHash, t0, args.bake);
  const ok = phase === 'Succeeded' && f.stages.every((s) => Number.isFinite(s.toAllAppliedS));
  const sum = (k: 'receivedS' | 'toAllAppliedS' | 'noticedS' | 'bakeOverS' | 'advanceS') => f.stages.reduce((a, s) => a + s[k], 0);
  const breakdown = [f.startS, sum('receivedS'), sum('toAllAppliedS') - sum('receivedS'), sum('noticedS'), sum('bakeOverS'), sum('advanceS')]
    .map((x) => secs(x))
    .join(' / ');
  const perStage = f.stages
    .map((s) => `${s.stage}: ${num(s.agents)}, ${[s.receivedS, s.toAllAppliedS, s.answeredS].map((x) => secs(x)).join(' / ')}`)
    .join('; ');
  return {
    exitCode: ok ? 0 : 1,
    summary: [
      ['agents', num(args.agents)],
      ['rollout phase', phase],
      ['total: POST → Succeeded', secs(f.totalS)],
      ['bake times asked for', secs(f.bakesS)],
      ['controller overhead (total − bakes)', secs(f.overheadS)],
      ['  start / push / apply / notice / bake over / advance', breakdown],
      ...f.stages.map((s): [string, string] => [
        `  stage ${s.stage}: agents, start → first / all received, all APPLIED / answered, notice, bake over, → next`,
        `${num(s.agents)}, ${secs(s.firstReceivedS)} / ${secs(s.receivedS)}, ${secs(s.toAllAppliedS)} / ${secs(s.answeredS)}, ${secs(s.noticedS)}, ${secs(s.bakeOverS)}, ${secs(s.advanceS)}`,
      ]),
      ['agents applied / failed', `${num(full.configApplied)} / ${num(full.configFailed)}`],
      ['resends of a config the agent had', num(full.configDuplicates)],
      ['database work of the rollout', dbWorkSummary(db)],
    ],
    json: { ramp, rollout: r, figures: f, db, stats },
    rows: [
      {
        section: ROLLOUT,
        key,
        cells: [
          ok ? 'ok' : `not succeeded (${phase})`,
          secs(f.totalS),
          secs(f.bakesS),
          secs(f.overheadS),
          breakdown,
          perStage,
          num(full.configDuplicates),
          dbCell,
        ],
      },
    ],
  };
}
