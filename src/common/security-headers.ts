import type { FastifyInstance } from 'fastify';

/** The OpenAPI UI needs inline scripts and styles: it gets no Content-Security-Policy. */
const DOCS = /^\/api\/docs(\/|$|-json)/;

/**
 * Security headers on every answer of the API port (what helmet would set for a JSON API, in
 * one hook rather than a dependency): no MIME sniffing, no framing, no referrer, isolation
 * from other origins, HSTS when served over TLS, and no caching of anything under /auth
 * (tokens).
 */
export function addSecurityHeaders(fastify: FastifyInstance, tls: boolean): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.headers({
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'x-permitted-cross-domain-policies': 'none',
    });
    if (!DOCS.test(req.url)) void reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    if (tls) void reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    if (req.url.startsWith('/api/v1/auth/')) void reply.header('cache-control', 'no-store');
    done();
  });
}
