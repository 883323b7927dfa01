import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter, register } from 'prom-client';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../common/database-errors';
import { peerCertificateOf } from '../common/tls-files';
import { AgentAuthenticator, refusalHeaders } from '../protocol/agent-authenticator';
import { isUidText } from '../protocol/instance-uid';
import {
  checkLimits,
  decodeMetricsRequest,
  encodeResponse,
  encodeStatus,
  OtlpEncoding,
  OtlpRequestError,
  stringAttribute,
  windowPointsOf,
} from './otlp-metrics-codec';
import { ForwardAnswer, TelemetryRouting } from './telemetry-routing';
import { TelemetryService } from './telemetry.service';

/** The OTLP/HTTP path of metrics, served on the OpAMP port. */
export const OTLP_METRICS_PATH = '/v1/metrics';
/** Requests read at once (each holds up to TELEMETRY_MAX_REQUEST_BYTES); beyond, 503 + Retry-After (retryable in OTLP). */
const MAX_IN_FLIGHT = 32;

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** The agent uid a resource names: service.instance.id, as canonical uid text. */
export function agentUidOf(serviceInstanceId: string | undefined): string | undefined {
  if (!serviceInstanceId) return undefined;
  let v = serviceInstanceId.trim();
  if (/^[0-9a-f]{32}$/i.test(v)) v = `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20)}`;
  if (!isUidText(v)) return undefined;
  return v.length === 26 ? v.toUpperCase() : v.toLowerCase();
}

/**
 * POST /v1/metrics on the OpAMP port: agents' own metrics over OTLP/HTTP (protobuf or JSON,
 * gzip or not). Authenticated like OpAMP (the enrollment token as bearer); each resource is
 * attributed to the agent its `service.instance.id` names (the Collector under the supervisor
 * sets it to the agent's instance uid). Answers follow the OTLP spec: 200 with the response
 * message (partial_success naming what was refused), 400/413/415 with a google.rpc.Status body
 * (not retryable), 503 + Retry-After (retryable), 401 with a challenge.
 */
@Injectable()
export class OtlpMetricsReceiver {
  private readonly logger = new Logger('OtlpMetrics');
  private inFlight = 0;
  private readonly requests = once(
    'opamp_telemetry_requests_total',
    () => new Counter({ name: 'opamp_telemetry_requests_total', help: 'OTLP/HTTP own-metrics requests, by HTTP status', labelNames: ['status'] }),
  );
  private readonly points = once(
    'opamp_telemetry_data_points_total',
    () =>
      new Counter({
        name: 'opamp_telemetry_data_points_total',
        help: 'Data points of agents own metrics: kept, ignored (metrics not kept, bounds), rejected (unknown agent, no service.instance.id)',
        labelNames: ['outcome'],
      }),
  );

  private readonly forwarded = once(
    'opamp_telemetry_forwarded_points_total',
    () =>
      new Counter({
        name: 'opamp_telemetry_forwarded_points_total',
        help: "Data points of agents' own metrics received here and forwarded to the replica holding the agent",
      }),
  );

  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly telemetry: TelemetryService,
    private readonly routing: TelemetryRouting,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const media = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const encoding: OtlpEncoding = media === 'application/json' ? 'json' : 'protobuf';
    const answer = (status: number, message: string, headers: Record<string, string> = {}) => {
      this.requests.inc({ status: String(status) });
      req.resume();
      if (res.headersSent) return void res.destroy();
      const { body, contentType } = encodeStatus(encoding, status, message);
      res.writeHead(status, { 'content-type': contentType, 'content-length': body.length, ...headers });
      res.end(body);
    };
    if (req.method !== 'POST') return answer(405, 'OTLP/HTTP metrics are sent with POST.', { allow: 'POST' });
    if (this.inFlight >= MAX_IN_FLIGHT)
      return answer(503, 'Too many metrics requests at once; retry later.', { 'retry-after': String(this.config.opamp.retryAfterSeconds) });
    this.inFlight++;
    try {
      const auth = await this.authenticator.authenticate(req.headers, 'http', peerCertificateOf(req.socket));
      if (!auth.ok) return answer(auth.status, auth.message, refusalHeaders(auth));
      if (media !== 'application/x-protobuf' && media !== 'application/json') {
        return answer(415, 'Content-Type must be application/x-protobuf or application/json.');
      }
      const body = await this.readBody(req);
      const msg = decodeMetricsRequest(body, encoding);
      const total = checkLimits(msg, { maxDataPoints: this.config.telemetry.maxDataPoints, maxAttributes: this.config.telemetry.maxAttributes });
      const bearer = /^Bearer[ ]+(\S+)/i.exec(String(req.headers.authorization ?? ''))?.[1];
      const { rejected, reasons } = await this.take(msg, bearer);
      if (total > 0 && rejected === total) {
        this.points.inc({ outcome: 'rejected' }, rejected);
        return answer(400, `No data point was accepted: ${[...reasons].join('; ')}`);
      }
      this.points.inc({ outcome: 'rejected' }, rejected);
      const out = encodeResponse(encoding, rejected, [...reasons].join('; '));
      this.requests.inc({ status: '200' });
      res.writeHead(200, { 'content-type': out.contentType, 'content-length': out.body.length });
      res.end(out.body);
    } catch (err) {
      if (err instanceof OtlpRequestError) return answer(err.status, err.message, err.status === 413 ? { connection: 'close' } : {});
      if (!isDatabaseUnavailable(err)) this.logger.error(`own-metrics request failed: ${(err as Error).stack ?? err}`);
      return answer(503, 'The server cannot take these metrics now; retry later.', { 'retry-after': String(this.config.opamp.retryAfterSeconds) });
    } finally {
      this.inFlight--;
    }
  }

  /** Attributes each resource to its agent and keeps its points; returns what was refused and why. */
  private async take(msg: ReturnType<typeof decodeMetricsRequest>, bearer: string | undefined): Promise<{ rejected: number; reasons: Set<string> }> {
    const reasons = new Set<string>();
    let rejected = 0;
    const uids = msg.resourceMetrics.map((rm) => agentUidOf(stringAttribute(rm.resource?.attributes, 'service.instance.id')));
    const known = await this.telemetry.knownAgents([...new Set(uids.filter((u): u is string => u !== undefined))]);
    const elsewhere = await this.routing.remoteHolders([...known]);
    const now = Date.now();
    for (const [i, rm] of msg.resourceMetrics.entries()) {
      const count = rm.scopeMetrics.reduce(
        (n, sm) =>
          n + sm.metrics.reduce((k, m) => k + ('dataPoints' in (m.data.value ?? {}) ? (m.data.value as { dataPoints: unknown[] }).dataPoints.length : 0), 0),
        0,
      );
      const uid = uids[i];
      let refusal: string | undefined;
      if (!uid) refusal = 'a resource has no service.instance.id naming an agent instance uid (UUID)';
      else if (!known.has(uid)) refusal = `service.instance.id ${uid} is no known agent`;
      else {
        // An agent connected here with one credential does not get metrics sent under another's.
        const held = this.telemetry.bearerOf(uid);
        if (held && bearer && held !== bearer) refusal = `metrics of agent ${uid} must be sent with the credential it connects with`;
      }
      if (refusal) {
        reasons.add(refusal);
        rejected += count;
        continue;
      }
      const holder = elsewhere.get(uid!);
      let answer: ForwardAnswer | undefined;
      if (holder) {
        // Bounded per request here; the holder's window bounds its series whatever arrives.
        const { points, ignored } = windowPointsOf(rm, now, this.config.telemetry.maxComponents, new Set());
        answer = await this.routing.forward(holder, uid!, points, ignored, bearer);
        if (answer) this.forwarded.inc(count);
      }
      if (!answer) {
        const { points, ignored } = windowPointsOf(rm, now, this.config.telemetry.maxComponents, this.telemetry.componentsOf(uid!));
        const skipped = this.telemetry.ingest(uid!, points, ignored, now);
        answer = skipped === undefined ? { refusal: 'this server keeps no more agent windows (capacity reached)' } : { skipped };
      }
      if ('refusal' in answer) {
        reasons.add(answer.refusal);
        rejected += count;
        continue;
      }
      this.points.inc({ outcome: 'ignored' }, answer.skipped);
      this.points.inc({ outcome: 'kept' }, Math.max(count - answer.skipped, 0));
    }
    return { rejected, reasons };
  }

  /** The body, gunzipped when asked; refused past the limit, compressed and after decompression (a gzip bomb stops at the limit). */
  private readBody(req: IncomingMessage): Promise<Buffer> {
    const max = this.config.telemetry.maxRequestBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max)
      return Promise.reject(new OtlpRequestError(413, `The request of ${declared} bytes is over the limit of ${max} bytes.`));
    const encoding = String(req.headers['content-encoding'] ?? 'identity')
      .trim()
      .toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
      return Promise.reject(new OtlpRequestError(415, `Content-Encoding ${encoding} is not supported (gzip or none).`));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let wire = 0;
      let settled = false;
      const source = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        if (source !== req) source.destroy();
        reject(err);
      };
      req.on('data', (c: Buffer) => {
        wire += c.length;
        if (wire > max) fail(new OtlpRequestError(413, `The request is over the limit of ${max} bytes.`));
      });
      source.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > max) return fail(new OtlpRequestError(413, `The request is over the limit of ${max} bytes after decompression.`));
        chunks.push(chunk);
      });
      source.on('end', () => {
        if (settled) return;
        settled = true;
        resolve(Buffer.concat(chunks, size));
      });
      source.on('error', (err) => fail(new OtlpRequestError(400, encoding === 'gzip' ? `The body is not valid gzip: ${err.message}` : err.message)));
      req.on('aborted', () => fail(new OtlpRequestError(400, 'request aborted')));
    });
  }
}
