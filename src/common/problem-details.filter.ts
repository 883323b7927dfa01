import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  TooLargeError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
} from './domain-errors';
import { makeProblem, PROBLEM_CONTENT_TYPE, ProblemDetails, problemType } from './problem-details';
import { RequestValidationException } from './validation';
import { describeDatabaseError, isDatabaseUnavailable } from './database-errors';

/** Retry-After of a 503 sent because the database cannot be reached (seconds). */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** Maps any thrown value to an RFC 9457 problem document. */
export function toProblem(err: unknown, instance?: string): ProblemDetails {
  if (err instanceof RequestValidationException) {
    return makeProblem(400, err.message, { type: problemType(400, 'validation'), errors: err.fieldErrors, instance });
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const body = err.getResponse();
    const detail =
      typeof body === 'string'
        ? body
        : Array.isArray((body as { message?: unknown }).message)
          ? (body as { message: string[] }).message.join('; ')
          : String((body as { message?: unknown }).message ?? err.message);
    const extra = typeof body === 'object' && body !== null && 'problem' in body ? (body as { problem: object }).problem : {};
    return makeProblem(status, detail, { instance, ...extra });
  }
  if (err instanceof DomainError) {
    const [status, kind] = domainStatus(err);
    return makeProblem(status, err.message, { type: problemType(status, kind), instance, ...(err.details ?? {}) });
  }
  // Errors raised by Fastify itself (body parsing, size limits) carry their status code.
  const fastifyErr = err as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyErr?.statusCode === 'number' && fastifyErr.statusCode >= 400 && fastifyErr.statusCode < 500) {
    return makeProblem(fastifyErr.statusCode, fastifyErr.message ?? 'Bad request', { instance });
  }
  if (isDatabaseUnavailable(err)) {
    return makeProblem(HttpStatus.SERVICE_UNAVAILABLE, 'The database is not reachable or did not answer in time; retry later.', {
      type: problemType(503, 'database-unavailable'),
      instance,
    });
  }
  return makeProblem(HttpStatus.INTERNAL_SERVER_ERROR, 'The server failed to handle this request; the error is logged.', { instance });
}

function domainStatus(err: DomainError): [number, string] {
  if (err instanceof NotFoundError) return [404, 'not-found'];
  if (err instanceof ConflictError) return [409, 'conflict'];
  if (err instanceof InvalidError) return [400, 'invalid'];
  if (err instanceof TooLargeError) return [413, 'too-large'];
  if (err instanceof UnauthorizedError) return [401, 'unauthorized'];
  if (err instanceof ForbiddenError) return [403, 'forbidden'];
  if (err instanceof TooManyRequestsError) return [429, 'rate-limited'];
  if (err instanceof UnavailableError) return [503, 'unavailable'];
  return [422, 'invalid'];
}

/** Headers an error answer needs besides its body: the auth challenge of a 401, Retry-After of a 429 or of a database outage. */
export function problemHeaders(err: unknown, databaseRetryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS): Record<string, string> {
  if (err instanceof UnauthorizedError) return { 'www-authenticate': err.challenge };
  if (err instanceof TooManyRequestsError || err instanceof UnavailableError) return { 'retry-after': String(err.retryAfterSeconds) };
  if (err instanceof TooLargeError) return { connection: 'close' };
  if (!(err instanceof HttpException) && !(err instanceof DomainError) && isDatabaseUnavailable(err))
    return { 'retry-after': String(databaseRetryAfterSeconds) };
  return {};
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetails): void {
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** The one global exception filter: every error of the API leaves as problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly databaseRetryAfterSeconds = DATABASE_RETRY_AFTER_SECONDS) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const problem = toProblem(err, req?.url);
    if (problem.status === 503 && isDatabaseUnavailable(err))
      this.logger.warn(`${req?.method} ${req?.url}: database unavailable (${describeDatabaseError(err)})`);
    else if (problem.status >= 500) this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    for (const [k, v] of Object.entries(problemHeaders(err, this.databaseRetryAfterSeconds))) void reply.header(k, v);
    sendProblem(reply, problem);
  }
}
