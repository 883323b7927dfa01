import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, gzipSync } from 'node:zlib';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { AgentConnection } from '../agent-connection';
import { peerCertificateOf } from '../../common/tls-files';
import { AgentAuthenticator, refusalHeaders } from '../../protocol/agent-authenticator';
import { AdmissionControl, AdmissionRefusal, retryAfterSeconds } from '../admission-control';
import { OpampMessageHandler } from '../opamp-message-handler';
import { SessionStore } from '../session-store';
import { ServerErrorResponseType, ServerToAgent } from '../../gen/opamp/v1/opamp_pb';
import { isUidText, uidToText } from '../../protocol/instance-uid';
import { buildErrorResponse } from '../protocol/server-to-agent.builder';
import { decodeAgentToServer, encodeServerToAgent, MalformedMessageError } from '../protocol/opamp-codec';
import { OpampMetrics } from '../opamp-metrics';
import { answerHttpError } from './http-answers';

class TooLargeError extends Error {}

/** True when Accept-Encoding allows gzip (an explicit q=0 forbids it; `*` counts). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (coding.trim() === 'gzip') return allowed;
    if (coding.trim() === '*') star = allowed;
  }
  return star ?? false;
}

export const INSTANCE_UID_HEADER = 'opamp-instance-uid';

/**
 * The OpAMP-Instance-UID header as canonical uid text (lower-case UUID, or an upper-case legacy
 * ULID), undefined when absent; a malformed one is a client error (400), never ignored silently.
 */
export function instanceUidHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value.trim();
  if (Array.isArray(value) && value.length > 1) throw new MalformedMessageError('OpAMP-Instance-UID must appear at most once.');
  if (!isUidText(text)) throw new MalformedMessageError('OpAMP-Instance-UID must be the instance uid as a UUID (8-4-4-4-12 hex).');
  return /^[0-9a-f-]{36}$/i.test(text) ? text.toLowerCase() : text.toUpperCase();
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** Answers smaller than this are sent plain: gzip would not pay for its header. */
const GZIP_MIN_BYTES = 1024;

/**
 * OpAMP over plain HTTP: one POST carries one AgentToServer and its answer is one
 * ServerToAgent. There is no connection, so every request gets a short-lived handle and all
 * state stays keyed by instance_uid in the session store.
 */
@Injectable()
export class HttpTransport {
  private readonly logger = new Logger('OpampHttp');

  constructor(
    private readonly handler: OpampMessageHandler,
    private readonly sessions: SessionStore,
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: AdmissionControl,
    private readonly metrics: OpampMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.handleOrThrow(req, res);
    } catch (err) {
      if (err instanceof TooLargeError) {
        answerHttpError(res, 413, err.message, { connection: 'close' });
      } else if (err instanceof MalformedMessageError) {
        answerHttpError(res, 400, err.message);
      } else {
        this.logger.error(`HTTP OpAMP request failed: ${(err as Error).stack ?? err}`);
        answerHttpError(res, 503, 'The server cannot handle this message now; retry later.', {
          'retry-after': String(this.config.opamp.retryAfterSeconds),
        });
      }
      // Drain whatever the client still sends so the socket is not reset under the answer.
      req.resume();
    }
  }

  private async handleOrThrow(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      req.resume();
      return answerHttpError(res, 405, 'OpAMP over HTTP uses POST (or a WebSocket upgrade on GET).', { allow: 'POST, GET' });
    }
    const auth = await this.authenticator.authenticate(req.headers, 'http', peerCertificateOf(req.socket));
    if (!auth.ok) {
      req.resume();
      return answerHttpError(res, auth.status, auth.message, refusalHeaders(auth));
    }
    if (mediaType(req.headers['content-type']) !== 'application/x-protobuf') {
      req.resume();
      return answerHttpError(res, 415, 'Content-Type must be application/x-protobuf.');
    }
    // The spec's optional OpAMP-Instance-UID header names the agent before its body is read, so a
    // new agent that admission refuses costs no decoding; the body stays the authority (below).
    const claimed = instanceUidHeader(req.headers[INSTANCE_UID_HEADER]);
    const refuseNew = (refusal: AdmissionRefusal) => answerHttpError(res, 503, refusal.message, { 'retry-after': String(retryAfterSeconds(refusal)) });
    const earlyRefusal = claimed !== undefined && !this.sessions.isActive(claimed) ? this.admission.admit('http') : undefined;
    const admittedEarly = claimed !== undefined && !earlyRefusal;
    if (earlyRefusal) {
      req.resume();
      return refuseNew(earlyRefusal);
    }
    const body = await this.readBody(req);
    if (body.length === 0) throw new MalformedMessageError('empty body: an AgentToServer message is required');
    const msg = decodeAgentToServer(body);
    this.metrics.received('http', body.length, msg);

    let uid: string | undefined;
    try {
      uid = uidToText(msg.instanceUid);
    } catch {
      // the message handler answers it with BAD_REQUEST
    }
    if (claimed !== undefined && uid !== undefined && uid.toLowerCase() !== claimed.toLowerCase()) {
      // A header that names another agent than the body would route or limit one agent as another.
      const reply = buildErrorResponse(
        msg.instanceUid,
        ServerErrorResponseType.ServerErrorResponseType_BadRequest,
        `The ${INSTANCE_UID_HEADER} header (${claimed}) does not match the message's instance_uid (${uid}).`,
      );
      return this.answer(req, res, reply, process.hrtime.bigint());
    }
    const refusal = !admittedEarly && uid && !this.sessions.isActive(uid) ? this.admission.admit('http') : undefined;
    if (refusal) return refuseNew(refusal);

    const conn: AgentConnection = {
      id: randomUUID(),
      transport: 'http',
      remoteAddress: req.socket.remoteAddress ?? '',
      connectedAt: new Date(),
      capabilitiesSent: false,
      labels: auth.labels,
      bearer: auth.bearer,
      host: req.headers.host,
    };
    const started = process.hrtime.bigint();
    this.answer(req, res, await this.handler.handle(conn, msg), started);
  }

  private answer(req: IncomingMessage, res: ServerResponse, reply: ServerToAgent, started: bigint): void {
    let out: Uint8Array = encodeServerToAgent(reply);
    const headers: Record<string, string | number> = { 'content-type': 'application/x-protobuf' };
    if (out.length >= GZIP_MIN_BYTES && acceptsGzip(req.headers['accept-encoding'])) {
      out = gzipSync(out);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = out.length;
    res.writeHead(200, headers);
    res.end(out);
    this.metrics.sent('http', out.length, Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Reads the body, gunzipping when asked, and refuses anything over the limit after decompression. */
  private readBody(req: IncomingMessage): Promise<Buffer> {
    const max = this.config.opamp.maxMessageBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      return Promise.reject(new TooLargeError(`Message of ${declared} bytes is over the limit of ${max} bytes.`));
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
    if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
      return Promise.reject(new MalformedMessageError(`Content-Encoding ${encoding} is not supported (use gzip or none).`));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        source.destroy();
        reject(err);
      };
      const source = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
      source.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > max) return fail(new TooLargeError(`Message is over the limit of ${max} bytes after decompression.`));
        chunks.push(chunk);
      });
      source.on('end', () => {
        if (settled) return;
        settled = true;
        resolve(Buffer.concat(chunks, size));
      });
      source.on('error', (err) => fail(encoding === 'gzip' ? new MalformedMessageError(`Body is not valid gzip: ${err.message}`) : err));
      req.on('aborted', () => fail(new MalformedMessageError('request aborted')));
    });
  }
}
