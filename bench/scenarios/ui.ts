import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import mongoose from 'mongoose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { insertViaMongo, storeCopiesOfConnected } from '../agent-seeding';
import { launchChromium } from '../chromium';
import { newGenerator, rampUp, RunEnv, sleep, startTarget, Target, Unsupported } from '../fleet-run';
import { Histogram, LatencySummary } from '../histogram';
import { KIND } from '../load-protocol';
import { kib, ms, num, pct, ResultsSection } from '../report';
import { ApiClient, ROOT } from '../server-process';
import { parseMetrics } from '../server-metrics';
import { cpuPercent } from '../proc-stats';
import { dbName, Outcome, today } from './outcome';

export const UI: ResultsSection = {
  id: 'ui',
  title: 'ui (web UI in Chromium)',
  about:
    'STORED agents in the database (bulk-stored as api-list stores them, disconnected) and N more connected over WebSocket and heartbeating ' +
    "(the load generator); the built web UI served by the server, driven by Chromium (playwright-core, the browser suite's flags). " +
    'First page = navigation start to the `agents-list-first-page` mark the agents list sets when its first page of rows is in the DOM ' +
    "(Chromium's performance timeline): a full load with an empty cache (cold), full loads with a warm cache (p50 / max of 5), and an " +
    'in-app click from the overview (from the click). Paging = click on Next page to new rows, over P pages, scrolling between them. ' +
    "Long tasks = PerformanceObserver('longtask') while paging (quiet, then with the status changes streaming) and during the live phase. " +
    "Overview = one visit of the overview (its API requests, the server's database commands in the window less its idle rate, and on the " +
    'in-memory stand-in the scans: queries that examined over a tenth of the agents, from its benchStats command). Initial JS = the scripts the cold load fetched, gzip -9. Live update = a label ' +
    'PATCH on a shown agent (REST, at a known time) to the row showing it (MutationObserver in the page), one change at a time, while the ' +
    'agents send --rate status changes/s.',
  columns: [
    'Run',
    'Stored / connected',
    'First page cold / warm p50, max / in-app',
    'Paging p50 / max',
    'Long tasks > 200 ms (max): paging quiet, paging live, live phase',
    'Overview: counts shown (1st visit), API requests, DB cmds net per visit, scans of agents per visit',
    'Initial JS gzip (raw)',
    'Live update p50 / p99 / max (n)',
    'Status changes/s achieved',
  ],
};

/**
 * The wall clock, which the page reads too (Date.now() there): timeOrigin + now() of two processes
 * can differ by seconds (each process's monotonic clock against a wall clock that was stepped in
 * between; a run here saw 18 s).
 */
const epochMs = () => Date.now();

/** Runs a JavaScript expression in the page (the bench compiles without the DOM's types, so page code is text). */
function inPage<T>(page: Page, js: string): Promise<T> {
  return page.evaluate(js) as Promise<T>;
}

/** Installed before every document: long tasks from the start of the page's life. */
const INIT_SCRIPT = `
window.__bench = { longtasks: [] };
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
} catch (e) {}
`;

const FIRST_PAGE_MARK = 'agents-list-first-page';
/** The longest the paging and the live phase may take each; what was done by then is reported. */
const PHASE_BUDGET_MS = 600_000;
const ROWS = 'table[aria-label="Agents"] tbody tr';

interface LongTasks {
  count: number;
  over50: number;
  over200: number;
  maxMs: number;
}

async function longTasksSince(page: Page, reset: boolean): Promise<LongTasks> {
  const tasks = await inPage<{ duration: number }[]>(page, 'window.__bench.longtasks');
  if (reset) await inPage(page, 'window.__bench.longtasks = []');
  return {
    count: tasks.length,
    over50: tasks.filter((t) => t.duration > 50).length,
    over200: tasks.filter((t) => t.duration > 200).length,
    maxMs: tasks.reduce((a, t) => Math.max(a, t.duration), 0),
  };
}

/**
 * Waits in the page until the expression `cond` holds (polled every frame). Not waitForFunction:
 * Playwright evaluates a string predicate with eval, which the UI's CSP refuses.
 */
function waitInPage(page: Page, cond: string, timeoutMs: number): Promise<void> {
  return inPage<void>(
    page,
    `new Promise((resolve, reject) => {
      const limit = setTimeout(() => reject(new Error('not within ${timeoutMs} ms: ' + ${JSON.stringify(cond)})), ${timeoutMs});
      const check = () => {
        if (${cond}) {
          clearTimeout(limit);
          resolve();
        } else setTimeout(check, 10);
      };
      check();
    })`,
  );
}

const resetLongTasks = (page: Page) => inPage(page, 'window.__bench.longtasks = []');

/** A full load of `url` (a new document); the first-page mark's time from navigation start, and the navigation's own timings. */
async function fullLoad(page: Page, url: string): Promise<{ firstPageMs: number; responseEndMs: number; domContentLoadedMs: number }> {
  await page.goto(url, { waitUntil: 'commit', timeout: 120_000 });
  await waitInPage(page, `performance.getEntriesByName('${FIRST_PAGE_MARK}').length > 0`, 120_000);
  return inPage(
    page,
    `(() => {
      const m = performance.getEntriesByName('${FIRST_PAGE_MARK}')[0];
      const n = performance.getEntriesByType('navigation')[0];
      return { firstPageMs: m.startTime, responseEndMs: n.responseEnd, domContentLoadedMs: n.domContentLoadedEventEnd };
    })()`,
  );
}

/** Clicks an element by selector in the page and waits until `doneJs` (an expression) holds; the ms from the click, as the page measures it. */
function clickAndWait(page: Page, selector: string, beforeJs: string, doneJs: string, timeoutMs = 120_000): Promise<number> {
  return inPage<number>(
    page,
    `(async () => {
      const before = ${beforeJs};
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) throw new Error('nothing to click at ${selector.replace(/'/g, '')}');
      const t0 = performance.now();
      el.click();
      await new Promise((resolve, reject) => {
        const limit = setTimeout(() => reject(new Error('not done within ${timeoutMs} ms')), ${timeoutMs});
        const check = () => {
          if (${doneJs}) {
            clearTimeout(limit);
            resolve();
          } else requestAnimationFrame(check);
        };
        const mo = new MutationObserver(check);
        mo.observe(document.body, { subtree: true, childList: true, characterData: true });
        check();
      });
      return performance.now() - t0;
    })()`,
  );
}

const firstUidJs = `(document.querySelector('${ROWS} th code') || {}).textContent`;
const navLink = (href: string) => `nav[aria-label="Main"] a[href="${href}"]`;

async function signIn(page: Page, base: string, password: string): Promise<void> {
  await page.goto(`${base}/`, { timeout: 120_000 });
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 120_000 });
}

/** Database commands by command name, from the server's /metrics. */
async function commandsByName(api: ApiClient): Promise<Map<string, number>> {
  const r = await api.request('GET', '/metrics');
  const out = new Map<string, number>();
  if (r.status !== 200) return out;
  for (const s of parseMetrics(r.text)) {
    if (s.name !== 'mongodb_commands_total') continue;
    const c = /command="([^"]+)"/.exec(s.labels)?.[1] ?? '?';
    out.set(c, (out.get(c) ?? 0) + s.value);
  }
  return out;
}

function diffCommands(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) if (v - (a.get(k) ?? 0) > 0) out[k] = v - (a.get(k) ?? 0);
  return out;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);

interface ScanStats {
  examined: number;
  scans: number;
  scanShapes: Record<string, number>;
}

/** What the in-memory stand-in did on the agents collection (its benchStats command); undefined on another database. */
class StandInWork {
  private constructor(private readonly conn?: mongoose.Connection) {}

  static async open(env: RunEnv, target: Target): Promise<StandInWork> {
    if (env.args.db !== 'memory' || env.args.mongodbUri) return new StandInWork();
    const conn = await mongoose.createConnection(target.db!.uri, { serverSelectionTimeoutMS: 10_000 }).asPromise();
    env.onCleanup(() => conn.close());
    return new StandInWork(conn);
  }

  async agents(): Promise<ScanStats | undefined> {
    if (!this.conn) return undefined;
    const r = (await this.conn.db!.command({ benchStats: 1 })) as { collections: Record<string, ScanStats> };
    return r.collections.agents ?? { examined: 0, scans: 0, scanShapes: {} };
  }

  static diff(a?: ScanStats, b?: ScanStats): ScanStats | undefined {
    if (!a || !b) return undefined;
    const scanShapes: Record<string, number> = {};
    for (const [k, v] of Object.entries(b.scanShapes)) if (v - (a.scanShapes[k] ?? 0) > 0) scanShapes[k] = v - (a.scanShapes[k] ?? 0);
    return { examined: b.examined - a.examined, scans: b.scans - a.scans, scanShapes };
  }
}

/** API requests the page makes (the change stream left out), so that a phase can wait until the page has settled. */
class PageRequests {
  inFlight = 0;
  started = 0;
  lastChange = Date.now();
  /** Each finished request's path (no query) and duration, request start to response end. */
  finished: { path: string; ms: number }[] = [];
  constructor(page: Page) {
    const mine = (u: string) => /\/api\/v1\//.test(u) && !/\/api\/v1\/watch/.test(u);
    page.on('request', (r) => {
      if (!mine(r.url())) return;
      this.inFlight++;
      this.started++;
      this.lastChange = Date.now();
    });
    const done = (u: string) => {
      if (!mine(u)) return;
      this.inFlight--;
      this.lastChange = Date.now();
    };
    page.on('requestfinished', (r) => {
      done(r.url());
      const t = r.timing();
      if (mine(r.url()) && t.responseEnd >= 0) this.finished.push({ path: new URL(r.url()).pathname, ms: t.responseEnd });
    });
    page.on('requestfailed', (r) => done(r.url()));
  }

  /**
   * Waits until no request has been in flight for `quietMs` (or `maxMs` passed); with `after`
   * (a count of `started`), first until a request beyond it has begun (the page's requests are
   * heard here a moment after the page sends them).
   */
  async settled(quietMs = 1000, maxMs = 120_000, after?: number): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < maxMs) {
      if ((after === undefined || this.started > after) && this.inFlight <= 0 && Date.now() - this.lastChange >= quietMs) return;
      await sleep(50);
    }
  }
}

interface OverviewVisit {
  /** Click to every count shown. */
  countsShownMs: number;
  /** The slowest of the visit's requests. */
  slowest?: { path: string; ms: number };
  requests: number;
  seconds: number;
  commands: Record<string, number>;
  /** Commands less the idle rate times the window. */
  netCommands: number;
  walks?: ScanStats;
}

/** The scripts of the built UI that index.html loads (the entry and its preloads), gzip -9; and every chunk. */
function buildOutput(): { initialRaw: number; initialGzip: number; chunks: { file: string; raw: number; gzip: number; initial: boolean }[] } {
  const root = path.join(ROOT, 'dist', 'web');
  const html = fs.readFileSync(path.join(root, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g)].map((m) => m[1]));
  const chunks = fs
    .readdirSync(path.join(root, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => {
      const body = fs.readFileSync(path.join(root, 'assets', f));
      return { file: `assets/${f}`, raw: body.length, gzip: zlib.gzipSync(body, { level: 9 }).length, initial: initial.has(`assets/${f}`) };
    });
  const init = chunks.filter((c) => c.initial);
  return { initialRaw: init.reduce((a, c) => a + c.raw, 0), initialGzip: init.reduce((a, c) => a + c.gzip, 0), chunks };
}

export async function ui(env: RunEnv): Promise<Outcome> {
  const { args } = env;
  const connected = args.agents;
  const stored = Math.max(args.stored ?? 100_000, connected);
  const pagesToWalk = args.pages ?? 20;
  const changes = args.changes;
  if (!fs.existsSync(path.join(ROOT, 'dist', 'web', 'index.html'))) throw new Unsupported('the web UI is not built (dist/web): run npm run build:web');
  const build = buildOutput();

  const target = await startTarget(env, 'opamp-commander');
  const api = new ApiClient(target.server.apiPort!, 'admin', target.server.adminPassword);
  env.onCleanup(async () => api.close());
  const standIn = await StandInWork.open(env, target);
  // api-list's documents (bulk, before the agents connect), or copies of one the server wrote for a
  // connected agent (after they connect: its exact, lean shape, which FerretDB reads far faster).
  let ins = { inserted: 0, seconds: 0, stoppedEarly: false };
  if (args.seed === 'api-list') {
    env.log(`storing ${num(stored - connected)} agents straight into the database...`);
    ins = await insertViaMongo(env, target.db!.uri, stored - connected);
    env.log(
      `stored ${num(ins.inserted)} agents in ${ins.seconds.toFixed(1)} s${ins.stoppedEarly ? ` -- stopped at --insert-timeout ${args.insertTimeout} s` : ''}`,
    );
  }
  const gen = newGenerator(env, target, connected);
  await gen.start();
  env.log(`connecting ${num(connected)} ws agents at ${num(args.rampRate)}/s...`);
  const ramp = await rampUp(env, target, gen);
  env.log(`${num(ramp.established)} agents connected (first answer p99 ${ms(ramp.firstAnswer.p99)}); settling 10 s...`);
  await sleep(10_000);
  if (args.seed === 'copy' && stored > connected) {
    const t = Date.now();
    await storeCopiesOfConnected(env, target.db!.uri, stored - connected, connected);
    ins = { inserted: stored - connected, seconds: (Date.now() - t) / 1000, stoppedEarly: false };
    await sleep(10_000);
  }

  const base = `http://127.0.0.1:${target.server.apiPort}`;
  let browser: Browser | undefined;
  env.onCleanup(async () => void (await browser?.close()));
  browser = await launchChromium();
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(INIT_SCRIPT);
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const requests = new PageRequests(page);
  const cdp = await context.newCDPSession(page);

  // 1. Sign in (the overview loads), then the agents list: an in-app click with nothing cached.
  env.log('signing in...');
  await signIn(page, base, target.server.adminPassword!);
  await requests.settled(1000);
  const inApp = await clickAndWait(
    page,
    navLink('/agents'),
    `performance.getEntriesByName('${FIRST_PAGE_MARK}').length`,
    `performance.getEntriesByName('${FIRST_PAGE_MARK}').length > before`,
  );
  env.log(`agents list after an in-app click: first page in ${ms(inApp)}`);

  // Cold: a full load with an empty cache; the scripts it fetches are the initial JavaScript.
  await cdp.send('Network.clearBrowserCache');
  const scripts: Promise<{ url: string; raw: number; gzip: number; encoding?: string; transfer?: number }>[] = [];
  const onResponse = (r: import('playwright-core').Response) => {
    if (r.request().resourceType() !== 'script') return;
    scripts.push(
      (async () => {
        const body = await r.body();
        const sizes = await r
          .request()
          .sizes()
          .catch(() => undefined);
        return {
          url: new URL(r.url()).pathname,
          raw: body.length,
          gzip: zlib.gzipSync(body, { level: 9 }).length,
          encoding: (await r.allHeaders())['content-encoding'],
          transfer: sizes ? sizes.responseBodySize : undefined,
        };
      })(),
    );
  };
  page.on('response', onResponse);
  const cold = await fullLoad(page, `${base}/agents`);
  await requests.settled(500);
  page.off('response', onResponse);
  const loaded = await Promise.all(scripts);
  const initialJs = {
    files: loaded,
    raw: loaded.reduce((a, s) => a + s.raw, 0),
    gzip: loaded.reduce((a, s) => a + s.gzip, 0),
    encoding: [...new Set(loaded.map((s) => s.encoding ?? 'none'))].join(', '),
  };
  env.log(
    `cold full load: first page at ${ms(cold.firstPageMs)} (response end ${ms(cold.responseEndMs)}); initial JS ${kib(initialJs.gzip)} gzip -9 (${kib(initialJs.raw)} raw, content-encoding ${initialJs.encoding})`,
  );
  const warm = new Histogram();
  for (let i = 0; i < 5; i++) {
    const w = await fullLoad(page, `${base}/agents`);
    warm.record(w.firstPageMs);
    await requests.settled(500);
  }
  const warmS = warm.summary();
  env.log(`warm full loads: first page p50 ${ms(warmS.p50)} max ${ms(warmS.max)}`);

  // 2. Paging and scrolling: long tasks, quiet and then with status changes streaming in.
  const walkPages = async (label: string) => {
    await fullLoad(page, `${base}/agents`);
    await requests.settled(500);
    await page.mouse.move(640, 600);
    await resetLongTasks(page);
    const h = new Histogram();
    let failure: string | undefined;
    const w0 = Date.now();
    for (let i = 0; i < pagesToWalk && Date.now() - w0 < PHASE_BUDGET_MS; i++) {
      try {
        h.record(await clickAndWait(page, 'nav.pager button:last-child', firstUidJs, `${firstUidJs} !== before && !!${firstUidJs}`, 60_000));
      } catch (err) {
        failure = `page ${i + 2}: ${(err as Error).message.split('\n')[0]}`;
        break;
      }
      for (const dy of [1200, 1200, -2400]) {
        await page.mouse.wheel(0, dy);
        await sleep(60);
      }
    }
    const tasks = await longTasksSince(page, true);
    const s = h.summary();
    env.log(
      `paging (${label}): ${s.count} pages p50 ${ms(s.p50)} max ${ms(s.max)}; long tasks ${tasks.count} (> 200 ms: ${tasks.over200}, max ${ms(tasks.maxMs)})${failure ? `; ${failure}` : ''}`,
    );
    return { latency: s, longTasks: tasks, failure };
  };
  const pagingQuiet = await walkPages('quiet');

  // 3. The overview: its requests and the database work they cost, one visit at a time.
  await fullLoad(page, `${base}/agents`);
  await requests.settled(1000);
  const idle0 = await commandsByName(api);
  await sleep(10_000);
  const idleRate = total(diffCommands(idle0, await commandsByName(api))) / 10;
  env.log(`background: ${idleRate.toFixed(1)} database commands/s with the agents list open and quiet`);
  const visits: OverviewVisit[] = [];
  for (let v = 0; v < 3; v++) {
    if (v > 0) {
      await clickAndWait(
        page,
        navLink('/agents'),
        `performance.getEntriesByName('${FIRST_PAGE_MARK}').length`,
        `performance.getEntriesByName('${FIRST_PAGE_MARK}').length > before`,
      );
      await requests.settled(1000);
    }
    // Past the UI's staleTime (5 s): the overview reads everything again.
    await sleep(6000);
    const c0 = await commandsByName(api);
    const w0 = await standIn.agents();
    const r0 = requests.started;
    const f0 = requests.finished.length;
    const t0 = Date.now();
    const countsShownMs = await clickAndWait(
      page,
      navLink('/'),
      '0',
      `document.querySelectorAll('[data-testid^="count-"]').length > 0 && [...document.querySelectorAll('[data-testid^="count-"]')].every((e) => e.textContent !== '…')`,
    );
    await requests.settled(1500, 120_000, r0);
    const slowest = requests.finished.slice(f0).sort((a, b) => b.ms - a.ms)[0];
    const seconds = (Date.now() - t0) / 1000;
    const commands = diffCommands(c0, await commandsByName(api));
    const walks = StandInWork.diff(w0, await standIn.agents());
    visits.push({ countsShownMs, slowest, requests: requests.started - r0, seconds, commands, netCommands: total(commands) - idleRate * seconds, walks });
    env.log(
      `overview visit ${v + 1}: counts shown in ${ms(countsShownMs)}, ${requests.started - r0} API requests in ${seconds.toFixed(1)} s (slowest ${slowest ? `${slowest.path} ${ms(slowest.ms)}` : 'n/a'}), database commands ${JSON.stringify(commands)}` +
        `${walks ? `; stand-in: ${walks.scans} scans of the agents (${num(walks.examined)} documents examined) ${JSON.stringify(walks.scanShapes)}` : ''}`,
    );
  }

  // The overview open while the status changes stream in: what the live counts cost per second.
  gen.reset();
  gen.ingest(args.rate);
  await sleep(3000);
  const lc0 = await commandsByName(api);
  const lw0 = await standIn.agents();
  const lr0 = requests.started;
  const lt0 = Date.now();
  await sleep(15_000);
  const liveOverviewS = (Date.now() - lt0) / 1000;
  const liveOverview = {
    requestsPerSec: (requests.started - lr0) / liveOverviewS,
    commandsPerSec: total(diffCommands(lc0, await commandsByName(api))) / liveOverviewS,
    walks: StandInWork.diff(lw0, await standIn.agents()),
  };
  env.log(
    `overview open with ${num(args.rate)} status changes/s: ${liveOverview.requestsPerSec.toFixed(1)} API requests/s, ${liveOverview.commandsPerSec.toFixed(1)} database commands/s` +
      `${liveOverview.walks ? `, ${(liveOverview.walks.scans / liveOverviewS).toFixed(1)} scans/s of the agents` : ''}`,
  );

  // 2b. Paging while the changes stream in.
  const pagingLive = await walkPages(`${num(args.rate)} status changes/s`);

  // 5. Live updates: a label PATCH on a shown agent, to the row showing it.
  await fullLoad(page, `${base}/agents?cols=service,host,connection,health,labels`);
  await requests.settled(500);
  const uids = await inPage<string[]>(page, `[...document.querySelectorAll('${ROWS} th code')].map((e) => e.textContent)`);
  if (uids.length === 0) throw new Error('the agents list shows no agents');
  await inPage(
    page,
    `(() => {
      window.__live = { want: null, seen: {} };
      const check = () => {
        const w = window.__live.want;
        if (!w) return;
        for (const tr of document.querySelectorAll('${ROWS}')) {
          const code = tr.querySelector('th code');
          if (!code || code.textContent !== w.uid) continue;
          if (tr.textContent.includes(w.text)) {
            window.__live.seen[w.text] = Date.now();
            window.__live.want = null;
          }
          return;
        }
      };
      new MutationObserver(check).observe(document.querySelector('main'), { subtree: true, childList: true, characterData: true });
    })()`,
  );
  await resetLongTasks(page);
  const live = new Histogram();
  const patchAnswer = new Histogram();
  let missed = 0;
  const s0 = await gen.stats();
  const p0 = target.sampler.sample();
  const live0 = Date.now();
  // A change not shown within this long is counted as missed (slow databases: three warm first pages).
  const showWithinMs = Math.max(10_000, 3 * warmS.p50);
  let tried = 0;
  for (let i = 0; i < changes && Date.now() - live0 < PHASE_BUDGET_MS; i++) {
    tried++;
    const uid = uids[i % uids.length];
    const text = `bench-live=c${String(i).padStart(5, '0')}`;
    await inPage(page, `window.__live.want = { uid: ${JSON.stringify(uid)}, text: ${JSON.stringify(text)} }`);
    await api.headers();
    const t0 = epochMs();
    const r = await api.request('PATCH', `/api/v1/agents/${uid}`, { metadata: { labels: { 'bench-live': text.split('=')[1] } } });
    patchAnswer.record(epochMs() - t0);
    if (r.status !== 200) throw new Error(`PATCH /api/v1/agents/${uid} answered ${r.status}: ${r.text.slice(0, 300)}`);
    try {
      await waitInPage(page, `!!window.__live.seen[${JSON.stringify(text)}]`, showWithinMs);
      live.record((await inPage<number>(page, `window.__live.seen[${JSON.stringify(text)}]`)) - t0);
    } catch {
      missed++;
      await inPage(page, 'window.__live.want = null');
    }
    if ((i + 1) % 20 === 0) {
      const s = live.summary();
      env.log(`[live] ${i + 1} changes: p50 ${ms(s.p50)} p99 ${ms(s.p99)} max ${ms(s.max)}${missed ? `, ${missed} not shown within ${ms(showWithinMs)}` : ''}`);
    }
    await sleep(Math.random() * 500);
  }
  const liveS = (Date.now() - live0) / 1000;
  const liveTasks = await longTasksSince(page, true);
  gen.ingest(0);
  const p1 = target.sampler.sample();
  const s1 = await gen.stats(true);
  const achieved = (s1.answersByKind[KIND.status] - s0.answersByKind[KIND.status]) / liveS;
  const statusLatency = s1.latency![KIND.status].summary();
  const liveSum: LatencySummary = live.summary();
  const patchSum = patchAnswer.summary();
  env.log(
    `live updates: ${liveSum.count} shown p50 ${ms(liveSum.p50)} p99 ${ms(liveSum.p99)} max ${ms(liveSum.max)} (${missed} not within ${ms(showWithinMs)}, ${tried} tried); PATCH answered p50 ${ms(patchSum.p50)}; ` +
      `${achieved.toFixed(0)} status changes/s achieved (answer p99 ${ms(statusLatency.p99)})`,
  );
  const serverCpu = cpuPercent(p0.server, p1.server);
  const dbCpu = cpuPercent(p0.db, p1.db);

  await browser.close();
  browser = undefined;
  await gen.stop();

  const ov = visits.at(-1)!;
  const ovWalks = (v: OverviewVisit) => (v.walks ? `${v.walks.scans} (${num(v.walks.examined)} docs)` : 'n/a');
  const tasksCell = (t: LongTasks) => `${t.over200} (${ms(t.maxMs)})`;
  const summary: [string, string][] = [
    ['agents stored / connected', `${num(ins.inserted + ramp.established)} / ${num(ramp.established)} of ${num(connected)}`],
    [
      'first page: cold full load (navigation start -> rows)',
      `${ms(cold.firstPageMs)} (response end ${ms(cold.responseEndMs)}, DOMContentLoaded ${ms(cold.domContentLoadedMs)})`,
    ],
    ['first page: warm full loads (x5) p50 / max', `${ms(warmS.p50)} / ${ms(warmS.max)}`],
    ['first page: in-app click from the overview', ms(inApp)],
    [
      `paging quiet (x${pagingQuiet.latency.count}) p50 / max; long tasks all / > 200 ms / max`,
      `${ms(pagingQuiet.latency.p50)} / ${ms(pagingQuiet.latency.max)}; ${pagingQuiet.longTasks.count} / ${pagingQuiet.longTasks.over200} / ${ms(pagingQuiet.longTasks.maxMs)}${pagingQuiet.failure ? ` (${pagingQuiet.failure})` : ''}`,
    ],
    [
      `paging with ${num(args.rate)} changes/s (x${pagingLive.latency.count}) p50 / max; long tasks all / > 200 ms / max`,
      `${ms(pagingLive.latency.p50)} / ${ms(pagingLive.latency.max)}; ${pagingLive.longTasks.count} / ${pagingLive.longTasks.over200} / ${ms(pagingLive.longTasks.maxMs)}${pagingLive.failure ? ` (${pagingLive.failure})` : ''}`,
    ],
    ['live phase long tasks all / > 200 ms / max', `${liveTasks.count} / ${liveTasks.over200} / ${ms(liveTasks.maxMs)}`],
    ...visits.map(
      (v, i) =>
        [
          `overview visit ${i + 1}: counts shown, slowest; API requests, DB commands (net of idle ${idleRate.toFixed(1)}/s), scans of agents`,
          `counts shown ${ms(v.countsShownMs)}, slowest request ${v.slowest ? `${v.slowest.path} ${ms(v.slowest.ms)}` : 'n/a'}; ${v.requests}, ${total(v.commands)} (${v.netCommands.toFixed(0)}) ${JSON.stringify(v.commands)}, ${ovWalks(v)}${v.walks && v.walks.scans ? ` ${JSON.stringify(v.walks.scanShapes)}` : ''}`,
        ] as [string, string],
    ),
    [
      `overview open with ${num(args.rate)} changes/s: API requests/s, DB commands/s, scans/s of agents`,
      `${liveOverview.requestsPerSec.toFixed(1)}, ${liveOverview.commandsPerSec.toFixed(1)}, ${liveOverview.walks ? (liveOverview.walks.scans / liveOverviewS).toFixed(1) : 'n/a'}`,
    ],
    [
      'initial JS (cold load) gzip -9 / raw / content-encoding',
      `${kib(initialJs.gzip)} / ${kib(initialJs.raw)} / ${initialJs.encoding} (${initialJs.files.map((f) => f.url).join(', ')})`,
    ],
    ['initial JS (build output, index.html entry + preloads) gzip -9 / raw', `${kib(build.initialGzip)} / ${kib(build.initialRaw)}`],
    [
      'lazy chunks (build output) gzip -9',
      build.chunks
        .filter((c) => !c.initial)
        .map((c) => `${c.file} ${kib(c.gzip)}`)
        .join(', ') || 'none',
    ],
    [
      `live update: PATCH -> row shows (x${liveSum.count}) p50 / p99 / max`,
      `${ms(liveSum.p50)} / ${ms(liveSum.p99)} / ${ms(liveSum.max)}${missed ? ` (${missed} not shown within ${ms(showWithinMs)})` : ''}${tried < changes ? ` (${tried} of ${changes} in the ${PHASE_BUDGET_MS / 1000} s budget)` : ''}`,
    ],
    ['live update: PATCH answered p50 / p99', `${ms(patchSum.p50)} / ${ms(patchSum.p99)}`],
    ['status changes/s target / achieved (answer p99)', `${num(args.rate)} / ${achieved.toFixed(0)} (${ms(statusLatency.p99)})`],
    ['server / database CPU in the live phase', `${pct(serverCpu)} / ${pct(dbCpu)}`],
    ['page errors', pageErrors.length ? pageErrors.slice(0, 3).join(' | ') : 'none'],
  ];
  const failed = pagingQuiet.failure || pagingLive.failure || liveSum.count === 0;
  return {
    exitCode: failed ? 1 : 0,
    summary,
    json: {
      stored: ins.inserted + ramp.established,
      connected: ramp.established,
      insert: ins,
      ramp,
      firstPage: { cold, warm: warmS, inAppMs: inApp },
      paging: { quiet: pagingQuiet, live: pagingLive },
      overview: { idleCommandsPerSec: idleRate, visits, live: liveOverview },
      initialJs,
      build,
      live: { latency: liveSum, patchAnswer: patchSum, missed, tried, showWithinMs, longTasks: liveTasks, statusChangesPerSec: achieved, statusLatency },
      cpuPct: { server: serverCpu, db: dbCpu },
      pageErrors,
      date: today(),
    },
    rows: [
      {
        section: UI,
        key: `${num(stored)} stored${args.seed === 'copy' ? ' (copies of a server-written agent)' : ''}, ${num(connected)} ws connected, ${num(args.rate)} changes/s, ${dbName(args)}${args.label ? ` (${args.label})` : ''}`,
        cells: [
          `${num(ins.inserted + ramp.established)} / ${num(ramp.established)}`,
          `${ms(cold.firstPageMs)} / ${ms(warmS.p50)}, ${ms(warmS.max)} / ${ms(inApp)}`,
          `${ms(pagingQuiet.latency.p50)} / ${ms(pagingQuiet.latency.max)} (x${pagingQuiet.latency.count})${pagingLive.latency.count ? `; live ${ms(pagingLive.latency.p50)} / ${ms(pagingLive.latency.max)}` : ''}`,
          `${tasksCell(pagingQuiet.longTasks)}, ${tasksCell(pagingLive.longTasks)}, ${tasksCell(liveTasks)}`,
          `${ms(visits[0].countsShownMs)}, ${ov.requests}, ${visits.map((v) => v.netCommands.toFixed(0)).join(' / ')}, ${visits.map((v) => (v.walks ? v.walks.scans : 'n/a')).join(' / ')}; live: ${liveOverview.requestsPerSec.toFixed(1)} req/s, ${liveOverview.commandsPerSec.toFixed(0)} cmds/s${liveOverview.walks ? `, ${(liveOverview.walks.scans / liveOverviewS).toFixed(1)} scans/s` : ''}`,
          `${kib(initialJs.gzip)} (${kib(initialJs.raw)}); build ${kib(build.initialGzip)}`,
          `${ms(liveSum.p50)} / ${ms(liveSum.p99)} / ${ms(liveSum.max)} (x${liveSum.count}${missed ? `, ${missed} missed` : ''})`,
          `${achieved.toFixed(0)} of ${num(args.rate)}`,
        ],
      },
    ],
  };
}
