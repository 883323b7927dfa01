import { register } from 'prom-client';

/**
 * The process-wide Prometheus registry every feature registers its metrics on (the metrics
 * module serves it at /metrics). Several servers may run in one process (the tests do), so a
 * metric is either shared by all of them or replaced by the newest.
 */
export { register as metricsRegistry };

/** The metric registered under `name`, made once per process (counters and histograms that add up across servers). */
export function sharedMetric<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

/** A fresh metric under `name`, replacing an older server's (gauges that read the live instance when scraped). */
export function replacedMetric<T>(name: string, make: () => T): T {
  register.removeSingleMetric(name);
  return make();
}
