import type { FastifyRequest } from 'fastify';
import type { Strategy } from 'passport-strategy';

/** The request type passport's strategies are declared with (Express's). */
export type PassportRequest = Parameters<Strategy['authenticate']>[0];

/**
 * A Fastify request as passport sees it. passport-oauth2 and passport-github2 read only `query`,
 * `headers` and `url` of it (and the state store leaves its nonce on it), which a Fastify request
 * has under the same names; the Express-only members they are declared with are never touched.
 */
export function asPassportRequest(req: FastifyRequest): PassportRequest {
  return req as unknown as PassportRequest;
}

/** How one run of a passport strategy ended. */
export type StrategyOutcome =
  | { kind: 'success'; user: unknown; info?: unknown }
  | { kind: 'fail'; challenge?: unknown; status?: number }
  | { kind: 'redirect'; url: string; status?: number }
  | { kind: 'error'; error: unknown }
  | { kind: 'pass' };

/**
 * Runs a passport strategy the way passport's own middleware does (a copy of the strategy
 * with success/fail/redirect/error/pass attached), but hands the outcome back instead of
 * writing to a Node response: Fastify replies have no setHeader/end, so the controller turns
 * a redirect into a Fastify redirect itself.
 */
export function runStrategy(strategy: Strategy, req: PassportRequest, options: Record<string, unknown>): Promise<StrategyOutcome> {
  return new Promise<StrategyOutcome>((resolve) => {
    const run = Object.create(strategy) as Strategy & Record<string, unknown>;
    run.success = (user: unknown, info?: unknown) => resolve({ kind: 'success', user, info });
    run.fail = (challenge?: unknown, status?: number) => resolve({ kind: 'fail', challenge, status });
    run.redirect = (url: string, status?: number) => resolve({ kind: 'redirect', url, status });
    run.error = (error: unknown) => resolve({ kind: 'error', error });
    run.pass = () => resolve({ kind: 'pass' });
    try {
      run.authenticate(req, options);
    } catch (error) {
      resolve({ kind: 'error', error });
    }
  });
}
