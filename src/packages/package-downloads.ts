import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, register } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { makeProblem, PROBLEM_CONTENT_TYPE } from '../common/problem-details';
import { peerCertificateOf } from '../common/tls-files';
import { AgentAuthenticator, credentialsUncheckable, refusalHeaders } from '../protocol/agent-authenticator';
import { AgentPackagesService, PACKAGE_DOWNLOAD_PREFIX, ServableFile } from './agent-packages.service';
import { OpenCopy, PackageFileCache } from './package-file-cache';
import { parseRange, rangeStillValid } from './package-range';

/**
 * Bytes one download writes per turn of the event loop. After each piece a download waits for the
 * next turn, so a turn carries at most one piece per download and the heartbeats of the other
 * agents, read in the same turn, are answered between the pieces, however many downloads run.
 */
const WRITE_BYTES = 64 * 1024;

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** `/v1/packages/NAME/VERSION/FILE` → its three parts (decoded), or undefined. */
export function parseDownloadPath(urlPath: string): { name: string; version: string; file: string } | undefined {
  if (!urlPath.startsWith(PACKAGE_DOWNLOAD_PREFIX)) return undefined;
  const parts = urlPath.slice(PACKAGE_DOWNLOAD_PREFIX.length).split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  try {
    const [name, version, file] = parts.map((p) => decodeURIComponent(p));
    return { name, version, file };
  } catch {
    return undefined;
  }
}

/**
 * GET and HEAD of uploaded package files on the OpAMP port, for agents: authenticated exactly
 * like OpAMP (the same AgentAuthenticator: enrollment token as bearer, or the client certificate),
 * with `Range` (one range; 206, 416), `If-Range`, `ETag` (the SHA-256) and `If-None-Match`. Bytes
 * stream from this replica's copy of the file (PackageFileCache, through its blocks in memory
 * shared by every download of the file), never buffered whole per download. At most
 * PACKAGE_MAX_CONCURRENT_DOWNLOADS run at once; beyond, a download waits in a first-come queue
 * (opamp-go's downloader takes any non-200 as INSTALL_FAILED, so waiting beats refusing) of at most
 * PACKAGE_DOWNLOAD_QUEUE_LENGTH; beyond that, and when the database cannot be read, the answer is
 * 503 + Retry-After.
 */
@Injectable()
export class PackageDownloads {
  private readonly logger = new Logger('PackageDownloads');
  private active = 0;
  /** Downloads waiting for a place, first come first served. */
  private readonly waiting: Array<() => void> = [];
  private readonly answers = once(
    'opamp_package_downloads_total',
    () => new Counter({ name: 'opamp_package_downloads_total', help: 'Package download requests on the OpAMP port, by HTTP status', labelNames: ['status'] }),
  );
  private readonly inProgress = once(
    'opamp_package_downloads_active',
    () => new Gauge({ name: 'opamp_package_downloads_active', help: 'Package downloads being sent now' }),
  );

  private readonly queuedGauge = once(
    'opamp_package_downloads_queued',
    () => new Gauge({ name: 'opamp_package_downloads_queued', help: 'Package downloads waiting for a place (PACKAGE_MAX_CONCURRENT_DOWNLOADS)' }),
  );

  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly packages: AgentPackagesService,
    private readonly cache: PackageFileCache,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether the OpAMP listener should hand this path here. */
  static serves(urlPath: string): boolean {
    return urlPath.startsWith(PACKAGE_DOWNLOAD_PREFIX);
  }

  async handle(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
    const retry = { 'retry-after': String(this.config.opamp.retryAfterSeconds) };
    const fail = (status: number, detail: string, headers: Record<string, string> = {}) => this.problem(req, res, status, detail, headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'Package files are read with GET or HEAD.', { allow: 'GET, HEAD' });
    const turn = this.takeTurn(res);
    if (turn === 'refused') return fail(503, 'Too many package downloads at once and the queue is full; retry later.', retry);
    if (!(await turn)) return; // the agent went away while it waited: nothing was sent, nothing to answer
    this.inProgress.inc();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inProgress.dec();
      this.passTurn();
    };
    res.once('close', release);
    try {
      const auth = await this.authenticator
        .authenticate(req.headers, 'http', peerCertificateOf(req.socket))
        .catch(() => credentialsUncheckable(this.config.opamp.retryAfterSeconds));
      if (!auth.ok) return fail(auth.status, auth.message, refusalHeaders(auth));
      const where = parseDownloadPath(urlPath);
      if (!where) return fail(404, 'Package files are at /v1/packages/NAME/VERSION/FILE.');
      let file: ServableFile | undefined;
      try {
        file = await this.packages.servable(where.name, where.version, where.file);
      } catch (err) {
        this.logger.warn(`package lookup failed: ${(err as Error).message}`);
        return fail(503, 'The package catalogue cannot be read now; retry later.', retry);
      }
      if (!file) return fail(404, `No uploaded file ${where.file} in package ${where.name}@${where.version}.`);
      await this.send(req, res, file, retry);
    } finally {
      if (res.writableEnded || res.destroyed) release();
    }
  }

  /**
   * A place among the PACKAGE_MAX_CONCURRENT_DOWNLOADS: now (true), after the downloads ahead in
   * the queue (the promise), false when the agent left while it waited, or 'refused' when the
   * queue is full. A waiting download holds no bytes, only its socket.
   */
  private takeTurn(res: ServerResponse): 'refused' | Promise<boolean> {
    if (this.active < this.config.packages.maxConcurrentDownloads) {
      this.active++;
      return Promise.resolve(true);
    }
    if (this.waiting.length >= this.config.packages.downloadQueueLength) return 'refused';
    this.queuedGauge.inc();
    return new Promise<boolean>((resolve) => {
      const go = () => {
        res.off('close', gone);
        resolve(true);
      };
      const gone = () => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      this.waiting.push(go);
      res.once('close', gone);
    }).finally(() => this.queuedGauge.dec());
  }

  /** A download ended: its place goes to the first one waiting, else it is free. */
  private passTurn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async send(req: IncomingMessage, res: ServerResponse, file: ServableFile, retry: Record<string, string>): Promise<void> {
    const etag = `"${file.sha256}"`;
    const common = { etag, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=0, must-revalidate' };
    const ifNoneMatch = req.headers['if-none-match'];
    if (ifNoneMatch && ifNoneMatch.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      this.answers.inc({ status: '304' });
      req.resume();
      res.writeHead(304, common).end();
      return;
    }
    const range = rangeStillValid(headerText(req.headers['if-range']), etag) ? parseRange(req.headers.range, file.size) : ({ kind: 'whole' } as const);
    if (range.kind === 'unsatisfiable') {
      return this.problem(req, res, 416, `The file has ${file.size} bytes; the range asked for is outside it.`, {
        ...common,
        'content-range': `bytes */${file.size}`,
      });
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, file.size - 1];
    const status = range.kind === 'partial' ? 206 : 200;
    const headers: Record<string, string | number> = {
      ...common,
      'content-type': 'application/octet-stream',
      'content-length': Math.max(0, end - start + 1),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${file.size}` } : {}),
    };
    req.resume();
    if (req.method === 'HEAD') {
      this.answers.inc({ status: String(status) });
      res.writeHead(status, headers).end();
      return;
    }
    let local: OpenCopy;
    try {
      local = await this.cache.open(file);
    } catch (err) {
      this.logger.warn(`package file ${file.sha256} could not be read from the database: ${(err as Error).message}`);
      return this.problem(req, res, 503, 'The package file cannot be read from the database now; retry later.', retry);
    }
    this.answers.inc({ status: String(status) });
    res.writeHead(status, headers);
    try {
      if (file.size === 0) return void res.end();
      await this.stream(res, local, start, end);
    } catch {
      // The local copy could not be read: nothing more to say on this response (the agent resumes with Range).
      res.destroy();
    } finally {
      local.release();
    }
  }

  /**
   * Writes bytes start..end of the copy to the response, one WRITE_BYTES piece per turn of the
   * event loop, waiting for the socket to drain; ends early when the agent goes away (it resumes
   * with Range). The bytes written are shared memory, so nothing is left to release when the
   * response is ended but still flushing.
   */
  private async stream(res: ServerResponse, copy: OpenCopy, start: number, end: number): Promise<void> {
    let gone = false;
    const leave = () => void (gone = true);
    res.on('error', leave);
    res.once('close', leave);
    try {
      for (let at = start; at <= end;) {
        const piece = await copy.slice(at, Math.min(WRITE_BYTES, end + 1 - at));
        if (gone || res.destroyed) return;
        at += piece.length;
        if (!res.write(piece) && !(await drained(res))) return;
        await nextTurn();
      }
      if (!gone) res.end();
    } finally {
      res.off('error', leave);
      res.off('close', leave);
      // An error after this point (the agent left while the last bytes flush) must not go unheard.
      if (!res.writableFinished) res.on('error', () => undefined);
    }
  }

  private problem(req: IncomingMessage, res: ServerResponse, status: number, detail: string, headers: Record<string, string>): void {
    this.answers.inc({ status: String(status) });
    req.resume();
    if (res.headersSent) return void res.destroy();
    const body = JSON.stringify(makeProblem(status, detail));
    res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

/** True when the response can take more, false when it closed first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/** Resolves in the next turn of the event loop, after the I/O that is ready now has been handled. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
