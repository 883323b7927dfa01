import type { Strategy } from 'passport-strategy';

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
export function runStrategy(strategy: Strategy, req: unknown, options: Record<string, unknown>): Promise<StrategyOutcome> {
  return new Promise<StrategyOutcome>((resolve) => {
    const run = Object.create(strategy) as Strategy & Record<string, unknown>;
    run.success = (user: unknown, info?: unknown) => resolve({ kind: 'success', user, info });
    run.fail = (challenge?: unknown, status?: number) => resolve({ kind: 'fail', challenge, status });
    run.redirect = (url: string, status?: number) => resolve({ kind: 'redirect', url, status });
    run.error = (error: unknown) => resolve({ kind: 'error', error });
    run.pass = () => resolve({ kind: 'pass' });
    try {
      run.authenticate(req as never, options);
    } catch (error) {
      resolve({ kind: 'error', error });
    }
  });
}
