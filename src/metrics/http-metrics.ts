import type { FastifyInstance } from 'fastify';
import { Histogram, register } from 'prom-client';

/** Records every API request's duration by method, route pattern (not the raw URL) and status. */
export function instrumentHttp(fastify: FastifyInstance): void {
  const histogram =
    (register.getSingleMetric('http_request_duration_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Duration of REST API requests, by method, route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
  fastify.addHook('onResponse', (req, reply, done) => {
    // The route pattern keeps label cardinality bounded; unknown paths share one label.
    const route = req.routeOptions?.url ?? 'unmatched';
    histogram.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });
}
