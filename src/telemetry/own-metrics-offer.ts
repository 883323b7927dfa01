import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { OTLP_METRICS_PATH } from './otlp-metrics.receiver';
import { TelemetryService } from './telemetry.service';

/** Where an agent should send its own metrics when nothing else says so: this server's receiver. */
export interface OwnMetricsDestination {
  endpoint: string;
  headers?: Record<string, string>;
}

/** What the OpAMP session knows of the connection a message came on. */
export interface OfferConnectionFacts {
  transport: 'websocket' | 'http' | 'grpc';
  /** The enrollment token the connection was admitted with. */
  bearer?: string;
  /** host[:port] the agent reached (Host header; gRPC: its authority). */
  host?: string;
}

const OWN_METRICS = 0x40n;

/**
 * The default own-metrics destination offered to agents that report own metrics: POST
 * /v1/metrics on the OpAMP port, at TELEMETRY_PUBLIC_URL or the host the agent itself reached,
 * with the agent's own enrollment token as the bearer header (the receiver authenticates like
 * OpAMP). OPAMP_OFFER_OWN_METRICS_ENDPOINT and groups win over it (desired-state precedence).
 * The same object is returned while nothing changes, so the session's memo holds.
 */
@Injectable()
export class OwnMetricsOffer {
  private readonly made = new Map<string, OwnMetricsDestination>();

  constructor(
    private readonly telemetry: TelemetryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Records the agent's message (connected, healthy, expected to send) and returns its default destination. */
  destinationFor(uid: string, conn: OfferConnectionFacts, capabilities: bigint, healthy?: boolean): OwnMetricsDestination | undefined {
    const enabled = this.config.telemetry.receiver;
    const reports = (capabilities & OWN_METRICS) !== 0n;
    const base = enabled ? this.baseUrl(conn) : undefined;
    // Expected here only when nothing points it elsewhere by default (a group may still do; see the report).
    this.telemetry.observeAgent(uid, { reportsOwnMetrics: reports, expected: !!base && !this.config.offers.ownMetricsEndpoint, bearer: conn.bearer, healthy });
    if (!base || !reports) return undefined;
    const endpoint = `${base}${OTLP_METRICS_PATH}`;
    const key = `${endpoint}\n${conn.bearer ?? ''}`;
    let d = this.made.get(key);
    if (!d) {
      d = { endpoint, ...(conn.bearer ? { headers: { Authorization: `Bearer ${conn.bearer}` } } : {}) };
      if (this.made.size > 10_000) this.made.clear();
      this.made.set(key, d);
    }
    return d;
  }

  private baseUrl(conn: OfferConnectionFacts): string | undefined {
    if (this.config.telemetry.publicUrl) return this.config.telemetry.publicUrl;
    if (!conn.host || !/^[A-Za-z0-9.\-[\]:]+$/.test(conn.host)) return undefined;
    const scheme = this.config.tls.certFile ? 'https' : 'http';
    if (conn.transport !== 'grpc') return `${scheme}://${conn.host}`;
    // gRPC reached another port: the OpAMP port on the same host.
    const host = conn.host.startsWith('[') ? conn.host.slice(0, conn.host.indexOf(']') + 1) : conn.host.split(':')[0];
    return `${scheme}://${host}:${this.config.opampPort}`;
  }
}
