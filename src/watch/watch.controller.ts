import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ADMIN_WATCH_KINDS, WATCH_KINDS } from '../cluster/change-feed';
import { ForbiddenError } from '../common/domain-errors';
import { ApiProblemResponsesWith, ApiSignedIn } from '../common/openapi';
import { WatchQuery } from './watch-query.dto';
import { WatchStreams } from './watch-streams.service';

const STREAM_DESCRIPTION = `A Server-Sent Events stream (text/event-stream) of the changes to agents, agent groups, remote configs, rollouts, users and enrollment tokens, made through any replica or by any agent.

Events (one JSON object per \`data:\` line):
- default event (no \`event:\` line), with \`id:\` — \`{"type": "ADDED"|"MODIFIED"|"DELETED", "object": {kind, apiVersion, metadata: {name}, status?}}\`. An agent's status changes (connected or not, transport, replica, healthy, remote config status and its error) come with \`object.status\`; any other change names the resource only — GET it for the rest.
- \`ready\` — \`{"resumeId"}\`, after the resumed events (if any): from here on the stream is live. List the resources after \`ready\` and apply the events that follow.
- \`expired\` — the \`Last-Event-ID\` is older than this replica's history (WATCH_HISTORY_EVENTS): relist, then keep following this stream.
- \`end\` — the server ends the stream: \`{"reason": "slow-consumer"|"shutdown"|"bus-down"|"token-expired", detail, retryAfterSeconds}\`. Reconnect with \`Last-Event-ID\` (after token-expired: with a fresh access token).
- comment lines (\`: keep-alive\`) every WATCH_HEARTBEAT_SECONDS, so that proxies keep the stream open.

Authenticated like every route (\`Authorization: Bearer\`); the web UI reads it with fetch() because EventSource cannot send that header. Needs the role that lists each kind: viewer, and admin for users and enrollment-tokens (asked for by a non-admin: 403; without \`kinds\`, a non-admin gets the others).`;

/**
 * `GET /watch`: one stream for several collections rather than `?watch=true` on each list, so
 * that a page that shows agents and groups needs one connection (a browser opens at most six
 * per server over HTTP/1.1); the events are shaped as Kubernetes watch events.
 */
@ApiTags('watch')
@Controller('watch')
export class WatchController {
  constructor(private readonly streams: WatchStreams) {}

  @Get()
  @ApiOperation({
    summary: 'Follow changes to agents, groups, remote configs, rollouts, users and tokens as Server-Sent Events',
    description: STREAM_DESCRIPTION,
  })
  @ApiSignedIn('viewer')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume after this event id (from `id:` lines or `ready`)',
    schema: { type: 'string', maxLength: 64 },
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({
    status: 200,
    description: `The stream; it ends only with an \`end\` event or when the client leaves. Kinds: ${WATCH_KINDS.join(', ')}.`,
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblemResponsesWith(
    { 503: 'The event bus is down, the replica is shutting down, or it serves its most streams (WATCH_MAX_STREAMS); `Retry-After` says when to try again' },
    400,
    403,
    503,
  )
  watch(@Query() query: WatchQuery, @Headers('last-event-id') lastEventId: string | undefined, @Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    // A kind is watched by whoever may list it: users and enrollment tokens by admins only. Asked
    // for by name, a kind the caller may not list is refused; left out, the default is what it may.
    const admin = (req as { user?: { role?: string } }).user?.role === 'admin';
    const refused = (query.kinds ?? []).filter((k) => !admin && ADMIN_WATCH_KINDS.includes(k));
    if (refused.length) throw new ForbiddenError(`watching ${refused.join(', ')} needs the admin role, as listing them does`);
    this.streams.admit();
    const kinds = new Set(query.kinds ?? WATCH_KINDS.filter((k) => admin || !ADMIN_WATCH_KINDS.includes(k)));
    reply.hijack();
    const res = reply.raw;
    // The headers the hooks set (security headers) go out with the stream's own.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value as string | string[]);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx and others buffer answers unless told not to; a buffered stream is no stream.
      'x-accel-buffering': 'no',
    });
    // HEAD (which Fastify adds to every GET) gets the headers only, not a stream that never ends.
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // No idle timeout on a stream that is quiet by design (heartbeats keep it moving).
    req.raw.socket.setTimeout(0);
    this.streams.start(res, kinds, lastEventId === undefined || lastEventId === '' ? undefined : lastEventId, tokenExpiry(req.headers.authorization));
  }
}

/** When the bearer token (already verified by the guard) expires, in ms since the epoch. */
export function tokenExpiry(authorization: string | undefined): number | undefined {
  const payload = authorization?.match(/^Bearer\s+[^.]+\.([^.]+)\./i)?.[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
