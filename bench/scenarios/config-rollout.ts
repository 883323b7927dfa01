import { SERVER_OFFERS_REMOTE_CONFIG } from '../fleet-messages';
import { FleetStats, LoadGenerator } from '../load-generator';
import { newGenerator, probeGrpc, rampUp, RunEnv, sleep, startTarget, Target, Unsupported } from '../fleet-run';
import { KIND } from '../load-protocol';
import { ms, num, ResultsSection, secs } from '../report';
import { ApiClient } from '../server-process';
import { dbWorkCell, dbWorkSummary, metricsWindow, scrapeMetrics } from '../server-metrics';
import { Outcome, runName } from './outcome';

export const CONFIG_ROLLOUT: ResultsSection = {
  id: 'config-rollout',
  title: 'config-rollout',
  about:
    "N connected agents that accept remote config, all in one agent group; a new revision of the group's remote config; time from " +
    'the change until every agent has reported APPLIED (or FAILED, for the --fail-share) and the server has answered that report. ' +
    'DB work = database commands, documents and bytes written from the change until all reported, per 1,000 agent messages the server received (and in total).',
  columns: [
    'Run',
    'Result',
    'First config after',
    'Every agent had it after',
    'All APPLIED/FAILED after',
    'Applied / failed',
    'Resends',
    'Final report p99',
    'DB work / 1k agent msgs',
  ],
};

/** The message the scenario prints, and its exit status, while the server cannot deliver config. */
export const NO_REMOTE_CONFIG = 'server does not offer remote config yet';

export interface TriggerContext {
  api: ApiClient;
  runId: string;
  agents: number;
  /** 1 for the initial assignment, then bumped per change so that each makes a new config (new hash). */
  revision: number;
  log(line: string): void;
}

/** The remote config and agent group of a run (both have this name). */
export const groupName = (runId: string) =>
  `bench-${runId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);

/** A small Collector config that differs per run and revision (a new hash each time). */
export function configBody(ctx: TriggerContext): string {
  return (
    `# bench ${ctx.runId}, revision ${ctx.revision}\n` +
    'receivers:\n  otlp:\n    protocols:\n      grpc: {}\n      http: {}\n' +
    `processors:\n  batch:\n    timeout: ${ctx.revision}s\n` +
    'exporters:\n  debug: {}\n' +
    'service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      processors: [batch]\n      exporters: [debug]\n'
  );
}

/** A REST call of the hooks: a 404 of the fleet API or any other refusal ends the scenario as unsupported (exit 3). */
export async function call(ctx: TriggerContext, method: string, pathname: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await ctx.api.request(method, pathname, body);
  if (r.status === 404 && /^\/api\/v1\/(remoteconfigs|agentgroups)$/.test(pathname)) {
    throw new Unsupported(`${NO_REMOTE_CONFIG}: ${method} ${pathname} answered 404 (no fleet API)`);
  }
  if (r.status >= 300)
    throw new Unsupported(`${NO_REMOTE_CONFIG}: ${method} ${pathname} answered ${r.status}: ${r.text.slice(0, 300)} (see triggerConfigChange())`);
  return r;
}

/**
 * THE HOOK, part 1 (not measured): a remote config `bench-<run>` and an agent group `bench-<run>`
 * selecting this run's agents by their non-identifying attribute `bench.run=<run id>`
 * (fleet-messages.ts), assigning the config as the single-file entry "". Every agent then gets
 * revision 1 and reports APPLIED/FAILED; the scenario waits for that before it measures a change.
 */
export async function prepareConfigGroup(ctx: TriggerContext): Promise<void> {
  const name = groupName(ctx.runId);
  await createRemoteConfig(ctx, name, configBody(ctx));
  await call(ctx, 'POST', '/api/v1/agentgroups', {
    kind: 'AgentGroup',
    apiVersion: 'v1',
    metadata: { name },
    spec: { selector: `bench.run=${ctx.runId}`, priority: 100, configs: [{ fileName: '', remoteConfig: name }] },
  });
}

/** A new remote config `name` with this YAML body (no agent gets it until a group or rollout names it). */
export async function createRemoteConfig(ctx: TriggerContext, name: string, body: string, description = 'bench config-rollout'): Promise<void> {
  await call(ctx, 'POST', '/api/v1/remoteconfigs', {
    kind: 'RemoteConfig',
    apiVersion: 'v1',
    metadata: { name },
    spec: { contentType: 'application/yaml', body, description },
  });
}

/**
 * THE HOOK, part 2 (the measured change): a new revision of the group's remote config through
 * `PUT /api/v1/remoteconfigs/{name}` with the resourceVersion just read. The clock runs from just
 * before this call until every agent's APPLIED/FAILED report of the new hash has been answered.
 * Adjust here (and in prepareConfigGroup) when the fleet API's shapes change.
 */
export async function triggerConfigChange(ctx: TriggerContext): Promise<void> {
  const name = groupName(ctx.runId);
  const current = JSON.parse((await call(ctx, 'GET', `/api/v1/remoteconfigs/${name}`)).text) as { metadata: { resourceVersion?: string } };
  await call(ctx, 'PUT', `/api/v1/remoteconfigs/${name}?message=bench%20revision%20${ctx.revision}`, {
    kind: 'RemoteConfig',
    apiVersion: 'v1',
    metadata: { name, resourceVersion: current.metadata.resourceVersion },
    spec: { contentType: 'application/yaml', body: configBody(ctx), description: 'bench config-rollout' },
  });
}

/** Waits until `expected` final reports (APPLIED/FAILED) have been answered, or the timeout. */
export async function waitForReports(
  env: RunEnv,
  target: Pick<Target, 'dead'>,
  gen: LoadGenerator,
  phase: string,
  expected: number,
  t0: number,
): Promise<FleetStats> {
  let s = await gen.stats();
  let lastLog = t0;
  while (s.configAcked < expected && Date.now() - t0 < env.args.configTimeout * 1000) {
    if (target.dead) throw new Error(`the server died during the ${phase}`);
    await Promise.race([sleep(100), gen.failed()]);
    s = await gen.stats();
    if (Date.now() - lastLog >= 5000) {
      lastLog = Date.now();
      env.log(
        `[${phase} ${((Date.now() - t0) / 1000).toFixed(0)}s] config received ${num(s.configReceived)} applied ${num(s.configApplied)} ` +
          `failed ${num(s.configFailed)} answered ${num(s.configAcked)}/${num(expected)}`,
      );
    }
  }
  return gen.stats(true);
}

/**
 * The REST side of a run against one server, and its first config: a context for the hooks
 * above, then the remote config and group of revision 1, waited for until every agent has
 * reported it (or the timeout). Not measured by the scenarios that use it.
 */
export async function assignRevision1(env: RunEnv, target: Target, gen: LoadGenerator): Promise<{ ctx: TriggerContext; initial: FleetStats; a0: number }> {
  const ctx: TriggerContext = {
    api: new ApiClient(target.server.apiPort!, 'admin', target.server.adminPassword),
    runId: env.runId,
    agents: env.args.agents,
    revision: 1,
    log: env.log,
  };
  env.onCleanup(async () => ctx.api.close());
  await sleep(1000);
  gen.reset();
  const a0 = Date.now();
  env.log('creating the remote config and the agent group (revision 1)...');
  await prepareConfigGroup(ctx);
  return { ctx, initial: await waitForReports(env, target, gen, 'assign', env.args.agents, a0), a0 };
}

export async function configRollout(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const target = await startTarget(env, 'opamp-commander');
  if (args.transport === 'grpc') await probeGrpc(target.port);
  const gen = newGenerator(env, target, args.agents);
  await gen.start();
  env.log(`ramping ${num(args.agents)} ${args.transport} agents (AcceptsRemoteConfig, ReportsRemoteConfig) at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  if (!(ramp.serverCapabilities & SERVER_OFFERS_REMOTE_CONFIG)) {
    throw new Unsupported(`${NO_REMOTE_CONFIG}: its capabilities (0x${ramp.serverCapabilities.toString(16)}) lack OffersRemoteConfig (0x2)`);
  }
  // Initial assignment (revision 1): not the figure asked for, but reported.
  const { ctx, initial, a0 } = await assignRevision1(env, target, gen);
  if (initial.configReceived === 0)
    throw new Unsupported(`${NO_REMOTE_CONFIG}: no remote_config reached any agent within ${args.configTimeout} s of assigning one`);
  const initialS = initial.configAcked >= args.agents ? (initial.lastConfigAckAt - a0) / 1000 : NaN;
  env.log(`revision 1: ${num(initial.configAcked)} of ${num(args.agents)} reported in ${secs(initialS)}`);
  await sleep(2000);

  // The measured change: revision 2.
  gen.reset();
  ctx.revision = 2;
  const sm0 = target.api ? await scrapeMetrics(target.api) : undefined;
  const t0 = Date.now();
  env.log('changing the config (revision 2)...');
  await triggerConfigChange(ctx);
  const full = await waitForReports(env, target, gen, 'rollout', args.agents, t0);
  const db = metricsWindow(sm0, target.api ? await scrapeMetrics(target.api) : undefined);
  await gen.stop();
  if (full.configReceived === 0) throw new Unsupported(`${NO_REMOTE_CONFIG}: no remote_config reached any agent within ${args.configTimeout} s of the change`);
  const done = full.configAcked >= args.agents;
  const firstS = (full.firstConfigAt - t0) / 1000;
  const allS = (full.lastConfigAckAt - t0) / 1000;
  const receivedS = full.configReceived - full.configDuplicates >= args.agents ? (full.lastConfigAt - t0) / 1000 : NaN;
  const finalP99 = full.latency![KIND.configFinal].summary().p99;
  const summary: [string, string][] = [
    ['agents', num(args.agents)],
    ['initial assignment: all reported after', secs(initialS)],
    ['change: result', done ? 'all reported' : `only ${num(full.configAcked)} of ${num(args.agents)} within ${args.configTimeout} s`],
    ['change: first remote_config after', secs(firstS)],
    ['change: every agent had the new config after', secs(receivedS)],
    ['change: all APPLIED/FAILED answered after', done ? secs(allS) : 'n/a'],
    ['change: applied / failed', `${num(full.configApplied)} / ${num(full.configFailed)}`],
    ['resends of a config the agent had (both phases)', num(initial.configDuplicates + full.configDuplicates)],
    ['final report answer p99', ms(finalP99)],
    ['database work of the change', dbWorkSummary(db)],
  ];
  return {
    exitCode: done ? 0 : 1,
    summary,
    json: {
      ramp,
      initial: { seconds: initialS, acked: initial.configAcked, duplicates: initial.configDuplicates },
      rollout: { done, firstS, receivedS, allS, db, stats: { ...full, latency: undefined, latencyAll: undefined, firstAnswer: undefined } },
    },
    rows: [
      {
        section: CONFIG_ROLLOUT,
        key: runName(args, `fail share ${args.failShare}`),
        cells: [
          done ? 'ok' : 'incomplete',
          secs(firstS),
          secs(receivedS),
          done ? secs(allS) : 'n/a',
          `${num(full.configApplied)} / ${num(full.configFailed)}`,
          num(initial.configDuplicates + full.configDuplicates),
          ms(finalP99),
          db?.dbCommands === undefined ? 'n/a' : `${dbWorkCell(db)} (total ${num(db.dbCommands)} cmds)`,
        ],
      },
    ],
  };
}
