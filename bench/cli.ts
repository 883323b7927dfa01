/**
 * `npm run bench -- --scenario NAME …`: starts the database and the server as child processes,
 * drives them with the load generator, prints a table, writes bench/results/<scenario>-<date>.json
 * and updates the scenario's row in bench/results/RESULTS.md (not committed: the tracked
 * bench/RESULTS.md is curated from it by hand). Everything stays on loopback and every
 * phase is bounded, so a run always ends by itself.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchArgs, parseArgs, Scenario, UsageError, USAGE } from './args';
import { RunEnv, Unsupported } from './fleet-run';
import { fdLimit, machineInfo } from './proc-stats';
import { printTable, upsertResultsRow } from './report';
import { apiList } from './scenarios/api-list';
import { CONFIG_ROLLOUT, configRollout } from './scenarios/config-rollout';
import { connectHold } from './scenarios/connect-hold';
import { fleetCounts } from './scenarios/fleet-counts';
import { ingest } from './scenarios/ingest';
import { Outcome, runName, sectionFor, today } from './scenarios/outcome';
import { packageDownload } from './scenarios/package-download';
import { ownTelemetry } from './scenarios/own-telemetry';
import { reconnectStorm } from './scenarios/reconnect-storm';
import { replicas } from './scenarios/replicas';
import { ui } from './scenarios/ui';
import { rollout } from './scenarios/rollout';
import { ROOT } from './server-process';

const RUNNERS: Record<Scenario, (env: RunEnv) => Promise<Outcome>> = {
  'connect-hold': connectHold,
  ingest,
  'config-rollout': configRollout,
  rollout,
  'reconnect-storm': reconnectStorm,
  'api-list': apiList,
  'package-download': packageDownload,
  'fleet-counts': fleetCounts,
  replicas,
  'own-telemetry': ownTelemetry,
  ui,
};

/** Generous upper bound of a run, after which everything is stopped. */
function wallLimitSeconds(a: BenchArgs): number {
  const ramp = a.rampTimeout ?? Math.max(90, Math.ceil(a.agents / a.rampRate) * 3 + 60);
  const perTarget = 60 + ramp + a.duration + 30;
  switch (a.scenario) {
    case 'connect-hold':
    case 'ingest':
      return perTarget * (a.baseline ? 2 : 1) + 120;
    case 'reconnect-storm':
      return perTarget + a.stormTimeout + 120;
    case 'config-rollout':
      return perTarget + a.configTimeout + 120;
    case 'rollout':
      return perTarget + 3 * a.configTimeout + 120;
    case 'api-list':
      return 180 + a.insertTimeout + 600 + 300;
    case 'package-download':
      return perTarget + 120;
    case 'fleet-counts':
      return 60 + 2 * ramp + 60 + 3 * 150 + 120;
    case 'replicas':
      return perTarget + a.settleTimeout + 2 * a.configTimeout + 300;
    case 'own-telemetry':
      return perTarget + a.duration + 2 * a.metricsInterval + 120;
    case 'ui':
      // Insert, ramp, then the browser phases: two paging walks and the live phase (600 s each at most) and the rest.
      return 180 + a.insertTimeout + ramp + 3 * 600 + 900;
  }
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`bench: ${err.message}\n\n`);
      process.stderr.write(USAGE);
      return err.message ? 2 : 0;
    }
    throw err;
  }
  const machine = machineInfo();
  const started = new Date();
  const stamp = started
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  const resultsDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'opamp-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const env: RunEnv = {
    args,
    runId: `r${Date.now().toString(36)}`,
    stamp,
    resultsDir,
    dataDir,
    log,
    onCleanup: (fn) => void cleanups.push(fn),
  };
  // One cleanup however many callers: a signal during the cleanup after a failure waits for it
  // rather than exiting at once and leaving the server behind.
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const fn of cleanups.reverse()) await fn().catch((e) => log(`cleanup: ${(e as Error).message}`));
      if (!args.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
      else log(`data kept in ${dataDir}`);
    })());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const limit = wallLimitSeconds(args);
  const watchdog = setTimeout(() => {
    log(`the run exceeded its ${limit} s bound: stopping`);
    void cleanup().finally(() => process.exit(1));
  }, limit * 1000);
  watchdog.unref();

  log(`bench ${args.scenario}: ${machine.summary}`);
  const nofile = fdLimit();
  if (nofile !== undefined && args.scenario !== 'api-list') {
    const workers = args.workers ?? Math.max(2, Math.ceil(args.agents / 15_000));
    if (args.agents / workers + 200 > nofile) log(`!! each generator process may open only ${nofile} files; use more --workers`);
    if (args.agents + 200 > nofile) {
      log(
        `!! the server inherits RLIMIT_NOFILE=${nofile}: one process cannot hold ${args.agents} sockets plus its own files ` +
          `(raise the hard limit: ulimit -Hn / LimitNOFILE= / docker --ulimit nofile=)`,
      );
    }
  }

  let outcome: Outcome;
  let code: number;
  try {
    outcome = await RUNNERS[args.scenario](env);
    code = outcome.exitCode;
  } catch (err) {
    if (!(err instanceof Unsupported)) {
      log(`bench failed: ${(err as Error).stack ?? err}`);
      await cleanup();
      return 1;
    }
    process.stderr.write(`\n${err.message}\n`);
    code = 3;
    outcome = {
      exitCode: 3,
      summary: [['result', err.message]],
      json: { unsupported: err.message },
      rows:
        args.scenario === 'config-rollout'
          ? [
              {
                section: CONFIG_ROLLOUT,
                key: runName(args, `fail share ${args.failShare}`),
                cells: [`not measured: ${err.message}`, '', '', '', '', '', '', ''],
              },
            ]
          : [],
    };
  }
  clearTimeout(watchdog);
  await cleanup();

  printTable(`${args.scenario} (${args.transport}, ${args.agents} agents) — ${today()}`, outcome.summary);
  const jsonFile = path.join(resultsDir, `${args.scenario}-${stamp}.json`);
  fs.writeFileSync(
    jsonFile,
    JSON.stringify(
      {
        scenario: args.scenario,
        args,
        machine,
        startedAt: started.toISOString(),
        finishedAt: new Date().toISOString(),
        exitCode: code,
        summary: outcome.summary,
        result: outcome.json,
      },
      null,
      2,
    ),
  );
  log(`wrote ${path.relative(process.cwd(), jsonFile)}`);
  if (args.resultsMd && outcome.rows.length) {
    const md = path.join(resultsDir, 'RESULTS.md');
    for (const r of outcome.rows) upsertResultsRow(md, sectionFor(r.section, args), r.key, r.cells, machine.summary, today());
    log(`updated ${path.relative(process.cwd(), md)}`);
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
