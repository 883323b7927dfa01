import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { hold, newGenerator, rampUp, RunEnv, sleep, startTarget, Target } from '../fleet-run';
import { mib, ms, num, pct, ResultsSection, secs } from '../report';
import { readSchedstat } from '../proc-stats';
import { dbWorkCell } from '../server-metrics';
import { Outcome, runName } from './outcome';

export const PACKAGE_DOWNLOAD: ResultsSection = {
  id: 'package-download',
  title: 'package-download',
  about:
    'A package file uploaded to the server (random bytes), then D agents download it at once from the OpAMP port ' +
    '(`GET /v1/packages/NAME/VERSION/FILE`) while N other agents heartbeat over WebSocket. A download answered 503 waits its ' +
    'Retry-After (±10 %) and asks again; one cut off resumes with Range. "All downloaded" = every download complete, each ' +
    "with the file's length (the first one also checked against its SHA-256). Server RSS and heartbeat latency cover the " +
    'window from the start of the downloads until the last one is done (at most `--duration` s).',
  columns: [
    'Run',
    'All downloaded in',
    'Download p50 / p99',
    '503 (retried) / resumed',
    'Server RSS idle / peak',
    'Server CPU',
    'DB RSS, CPU',
    'Heartbeats p50 / p99 / max',
    'All answered ≤ 1 s',
    'Server settings',
    'DB work / 1k agent msgs',
  ],
};

interface DownloadStats {
  done: number;
  retried503: number;
  resumed: number;
  errors: number;
  lastError?: string;
  durationsMs: number[];
  firstHashOk?: boolean;
}

/** One PUT with a binary body to the API (the upload of the package file). */
function uploadFile(target: Target, headers: Record<string, string>, urlPath: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: target.server.apiPort!,
        method: 'PUT',
        path: urlPath,
        headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * One agent's download, as an agent's download loop does it: 503 → wait Retry-After and ask
 * again; a cut → ask for the rest with Range. Resolves when it has every byte.
 */
async function downloadOnce(port: number, urlPath: string, size: number, stats: DownloadStats, check: string | undefined, deadline: number): Promise<void> {
  const t0 = Date.now();
  let have = 0;
  const hash = check ? createHash('sha256') : undefined;
  while (have < size) {
    if (Date.now() > deadline) throw new Error('download deadline passed');
    const answer = await new Promise<{ status: number; retryAfter?: number; got: number }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: have ? { range: `bytes=${have}-` } : {} }, (res) => {
        let got = 0;
        if (res.statusCode !== 200 && res.statusCode !== 206) {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after']) || undefined, got }));
          return;
        }
        res.on('data', (c: Buffer) => {
          got += c.length;
          hash?.update(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, got }));
        res.on('error', () => resolve({ status: -1, got }));
        res.on('aborted', () => resolve({ status: -1, got }));
      });
      req.on('error', (e) => {
        stats.lastError = e.message;
        resolve({ status: -1, got: 0 });
      });
    });
    have += answer.got;
    if (answer.status === 503) {
      stats.retried503++;
      await sleep((answer.retryAfter ?? 5) * 1000 * (1 + Math.random() * 0.1));
    } else if (answer.status === -1) {
      stats.resumed++;
      await sleep(100);
    } else if (answer.status !== 200 && answer.status !== 206) {
      stats.errors++;
      stats.lastError = `HTTP ${answer.status}`;
      await sleep(1000);
    }
  }
  if (hash) stats.firstHashOk = have === size && hash.digest('hex') === check;
  stats.durationsMs.push(Date.now() - t0);
  stats.done++;
}

const quantile = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

export async function packageDownload(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  if (args.transport !== 'ws') throw new Error('package-download holds its heartbeating agents over ws');
  const target = await startTarget(env, 'opamp-commander');
  if (!target.api) throw new Error('package-download needs the REST API of the server');
  const gen = newGenerator(env, target, args.agents);
  await gen.start();
  env.log(`ramping ${num(args.agents)} heartbeating agents at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  if (!ramp.complete) throw new Error(`the ramp reached only ${ramp.established} of ${args.agents} agents`);

  const size = Math.round(args.packageMb * 1024 * 1024);
  const bytes = randomBytes(size);
  const sha = createHash('sha256').update(bytes).digest('hex');
  const up = await uploadFile(target, await target.api.headers(), `/api/v1/packages/bench-agent@1.0.0/files/bench-agent.bin?sha256=${sha}`, bytes);
  if (up.status !== 200) throw new Error(`upload failed: ${up.status} ${up.text.slice(0, 300)}`);
  env.log(`uploaded a ${mib(size)} package file`);
  await sleep(3000);
  const idleRss = target.sampler.sample().server?.rssBytes ?? NaN;

  const stats: DownloadStats = { done: 0, retried503: 0, resumed: 0, errors: 0, durationsMs: [] };
  const urlPath = '/v1/packages/bench-agent/1.0.0/bench-agent.bin';
  const deadline = Date.now() + args.duration * 1000;
  const sched0 = readSchedstat(target.server.pid);
  const t0 = Date.now();
  env.log(`${num(args.downloads)} agents download it at once while ${num(args.agents)} heartbeat...`);
  let finishedAt = NaN;
  const downloads = Promise.all(
    Array.from({ length: args.downloads }, (_, i) =>
      downloadOnce(target.port, urlPath, size, stats, i === 0 ? sha : undefined, deadline).catch((e) => void (stats.lastError = String(e))),
    ),
  ).then(() => (finishedAt = Date.now()));
  const h = await hold(env, target, gen, args.duration, 0, downloads);
  const sched1 = readSchedstat(target.server.pid);
  // Where the server's event loop went in the window: running, or runnable and waiting for a CPU
  // that other processes held (on a shared machine, the part of the lag the server cannot help).
  const loop =
    sched0 && sched1
      ? {
          runS: (sched1.runNs - sched0.runNs) / 1e9,
          waitS: (sched1.waitNs - sched0.waitNs) / 1e9,
          slices: sched1.slices - sched0.slices,
        }
      : undefined;
  await Promise.race([downloads, sleep(5000)]);
  await gen.stop();
  const allDone = stats.done === args.downloads;
  const totalS = allDone ? (finishedAt - t0) / 1000 : NaN;
  const settings =
    Object.entries(args.serverEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || 'defaults (200 downloads at once, 5,000 queued)';
  const summary: [string, string][] = [
    ['heartbeating agents', num(args.agents)],
    ['downloading agents', num(args.downloads)],
    ['package file', `${mib(size)} (${sha.slice(0, 12)}…)`],
    ['all downloaded in', allDone ? secs(totalS) : `not within ${args.duration} s (${num(stats.done)} done)`],
    ['download p50 / p99', `${ms(quantile(stats.durationsMs, 0.5))} / ${ms(quantile(stats.durationsMs, 0.99))}`],
    [
      '503 answers (retried) / resumed / other errors',
      `${num(stats.retried503)} / ${num(stats.resumed)} / ${num(stats.errors)}${stats.lastError ? ` (${stats.lastError})` : ''}`,
    ],
    ['first download complete', stats.firstHashOk ? 'yes' : 'no'],
    ['server RSS idle / end / peak', `${mib(idleRss)} / ${mib(h.server.rssBytes)} / ${mib(h.server.peakRssBytes)}`],
    ['server CPU (window)', pct(h.server.cpuPct)],
    ['database RSS / CPU', h.db ? `${mib(h.db.rssBytes)} / ${pct(h.db.cpuPct)}` : 'n/a'],
    ['heartbeats p50 / p99 / max', `${ms(h.latency.all.p50)} / ${ms(h.latency.all.p99)} / ${ms(h.latency.all.max)}`],
    [
      'every heartbeat answered within the deadline',
      h.allAnsweredInTime ? 'yes' : `no (late ${num(h.late)}, unanswered ${num(h.lostPending + h.pendingLate)})`,
    ],
    ['server event-loop lag p99 / max', `${ms(h.serverMetrics?.eventLoopLagP99Ms ?? NaN)} / ${ms(h.serverMetrics?.eventLoopLagMaxMs ?? NaN)}`],
    [
      'server main thread: on a CPU / waiting for one',
      loop
        ? `${secs(loop.runS)} / ${secs(loop.waitS)} of ${secs(h.seconds)} (${num(loop.slices)} timeslices, mean wait ${ms((loop.waitS * 1000) / Math.max(1, loop.slices))})`
        : 'n/a',
    ],
    ['download client CPU (the bench process)', pct(h.benchCpuPct)],
    ["other processes' CPU (noise)", pct(h.otherCpuPct)],
    ['server settings', settings],
  ];
  const key = runName(args, `${num(args.downloads)} downloading ${mib(size)}`);
  const cells = [
    allDone ? secs(totalS) : `not within ${args.duration} s (${num(stats.done)}/${num(args.downloads)})`,
    `${ms(quantile(stats.durationsMs, 0.5))} / ${ms(quantile(stats.durationsMs, 0.99))}`,
    `${num(stats.retried503)} / ${num(stats.resumed)}`,
    `${mib(idleRss)} / ${mib(h.server.peakRssBytes)}`,
    pct(h.server.cpuPct),
    h.db ? `${mib(h.db.rssBytes)}, ${pct(h.db.cpuPct)}` : 'n/a',
    `${ms(h.latency.all.p50)} / ${ms(h.latency.all.p99)} / ${ms(h.latency.all.max)}`,
    h.allAnsweredInTime ? 'yes' : `no (late ${num(h.late)})`,
    settings,
    dbWorkCell(h.serverMetrics),
  ];
  return {
    exitCode: allDone && stats.firstHashOk ? 0 : 1,
    summary,
    json: { stats: { ...stats, durationsMs: undefined }, hold: h, idleRss, size, sha, serverMainThread: loop },
    rows: [{ section: PACKAGE_DOWNLOAD, key, cells }],
  };
}
