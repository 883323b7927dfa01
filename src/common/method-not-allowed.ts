import type { FastifyInstance } from 'fastify';
import { makeProblem, PROBLEM_CONTENT_TYPE } from './problem-details';

/** A registered route: its method and URL pattern (`/agents/:instanceUid`). */
export interface KnownRoute {
  method: string;
  url: string;
}

/** A route pattern as a regular expression over paths; undefined for wildcard routes (static files). */
function patternOf(url: string): RegExp | undefined {
  if (url.includes('*')) return undefined;
  const source = url
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The methods each path accepts, from the routes as registered; answers a request that matched
 * no route but whose path exists under other methods with 405 and `Allow` (RFC 9110 §15.5.6),
 * instead of the 404 Fastify would give. Routes are read at the first request, when all exist.
 */
export function answerUnknownMethods(fastify: FastifyInstance, routes: KnownRoute[]): void {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const build = () => {
    const byUrl = new Map<string, Set<string>>();
    for (const r of routes) {
      if (!byUrl.has(r.url)) byUrl.set(r.url, new Set());
      byUrl.get(r.url)!.add(r.method.toUpperCase());
    }
    return [...byUrl].flatMap(([url, methods]) => {
      const pattern = patternOf(url);
      return pattern ? [{ pattern, methods }] : [];
    });
  };
  fastify.addHook('onRequest', async (req, reply) => {
    // A request a real route took is not ours; one only a wildcard took (the web UI's page fallback) still is.
    const matched = req.routeOptions.url;
    if (matched !== undefined && !matched.includes('*')) return;
    table ??= build();
    const path = req.url.split('?')[0];
    const allowed = new Set<string>();
    for (const { pattern, methods } of table) if (pattern.test(path)) methods.forEach((m) => allowed.add(m));
    if (allowed.size === 0 || allowed.has(req.method)) return;
    const allow = [...allowed].sort().join(', ');
    await reply
      .code(405)
      .header('allow', allow)
      .type(PROBLEM_CONTENT_TYPE)
      .send(makeProblem(405, `${req.method} is not allowed on ${path.slice(0, 200)}; allowed: ${allow}.`, { instance: path.slice(0, 200) }));
  });
}
