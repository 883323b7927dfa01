import type { IncomingHttpHeaders } from 'node:http';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { experimental, Metadata, Server, ServerCredentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerOptions } from '@grpc/grpc-js';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { ListenersHealthIndicator } from '../../health/listeners.health';
import { AdmissionControl, retryAfterSeconds } from '../admission-control';
import { readTlsFile } from '../../common/tls-files';
import { AgentAuthenticator, AgentPeer, credentialsUncheckable, refusalHeaders } from '../../protocol/agent-authenticator';
import { GrpcHealthService, HealthGrpcService, ServingStatus } from './grpc-health';
import { OPAMP_GRPC_SERVICE, OpampGrpcService } from './grpc-opamp-service';
import { GrpcTransport, OpampGrpcCall } from './grpc-transport';
import { ConnectionDrainer } from '../connection-drainer';

/** How long an unanswered HTTP/2 keepalive ping may stay unanswered before the connection is closed. */
const KEEPALIVE_TIMEOUT_MS = 20_000;

/** Request metadata as the header map AgentAuthenticator reads (`authorization`, …); binary (-bin) entries are left out. */
export function metadataHeaders(metadata: Metadata): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (key.endsWith('-bin')) continue;
    headers[key] = values.map(String).join(', ');
  }
  return headers;
}

/** gRPC wants "[v6]:port"; every other host is written as is. */
export function bindAddress(host: string, port: number): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** grpc-js server options for long-lived agent streams. */
export function grpcServerOptions(config: AppConfig): ServerOptions {
  return {
    'grpc.max_receive_message_length': config.opamp.maxMessageBytes,
    'grpc.max_send_message_length': config.opamp.maxMessageBytes,
    // Server pings find dead peers (a vanished NAT entry, a crashed host) on otherwise quiet
    // streams. grpc-js servers never answer client pings with GOAWAY too_many_pings, so
    // agents may keep their own keepalive at any interval.
    'grpc.keepalive_time_ms': config.grpc.keepaliveSeconds * 1000,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    // A connection with no stream at all (opened, never used) is let go like a silent stream.
    'grpc.max_connection_idle_ms': config.grpc.idleTimeoutSeconds * 1000,
  };
}

/**
 * The gRPC port: `opampcommander.v1.OpAMPTransport` and `grpc.health.v1.Health` on one
 * grpc-js server. A Connect stream is handed to the transport only after its metadata passed
 * the AgentAuthenticator (UNAUTHENTICATED / PERMISSION_DENIED otherwise) and admission control
 * let it in (UNAVAILABLE with `retry-after` and `grpc-retry-pushback-ms` otherwise).
 */
@Injectable()
export class GrpcListener implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('GrpcListener');
  readonly server: Server;
  readonly health = new GrpcHealthService([OPAMP_GRPC_SERVICE]);
  private boundPort = 0;
  private stopping = false;
  private shutdown?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly transport: GrpcTransport,
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: AdmissionControl,
    private readonly listeners: ListenersHealthIndicator,
    private readonly drainer: ConnectionDrainer,
  ) {
    this.server = new Server(grpcServerOptions(config));
    this.server.addService(OpampGrpcService, { Connect: (call: OpampGrpcCall) => void this.connect(call) });
    this.server.addService(HealthGrpcService, this.health.implementation);
    listeners.set('grpc', false);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
  }

  /** Binds the gRPC port; resolves with the bound port (useful when configured as 0). */
  async listen(): Promise<number> {
    const address = bindAddress(this.config.host, this.config.grpcPort);
    const credentials = this.credentials();
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(address, credentials, (err, port) => {
        if (!err) return resolve(port);
        const inUse = /EADDRINUSE|address already in use/i.test(err.message);
        reject(Object.assign(new Error(`gRPC cannot listen on ${address}: ${err.message}`), inUse ? { code: 'EADDRINUSE' } : {}));
      });
    });
    this.health.setAll(ServingStatus.SERVING);
    this.listeners.set('grpc', true);
    this.logger.log(`OpAMP over gRPC listening on ${bindAddress(this.config.host, this.boundPort)}${this.config.grpc.tlsCertFile ? ' (TLS)' : ''}`);
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /**
   * GRPC_TLS_* when set, else the server-wide TLS_CERT_FILE / TLS_KEY_FILE, else plaintext. With
   * TLS_CLIENT_CA_FILE, client certificates are asked for and verified but not required (an
   * agent without one may present a token instead), which createSsl cannot express.
   */
  private credentials(): ServerCredentials {
    const own = this.config.grpc.tlsCertFile && this.config.grpc.tlsKeyFile;
    const certFile = own ? this.config.grpc.tlsCertFile : this.config.tls.certFile;
    const keyFile = own ? this.config.grpc.tlsKeyFile : this.config.tls.keyFile;
    if (!certFile || !keyFile) return ServerCredentials.createInsecure();
    const certificate = readTlsFile(own ? 'GRPC_TLS_CERT_FILE' : 'TLS_CERT_FILE', certFile);
    const privateKey = readTlsFile(own ? 'GRPC_TLS_KEY_FILE' : 'TLS_KEY_FILE', keyFile);
    const caFile = this.config.tls.clientCaFile;
    if (!caFile) return ServerCredentials.createSsl(null, [{ cert_chain: certificate, private_key: privateKey }], false);
    const caCertificate = readTlsFile('TLS_CLIENT_CA_FILE', caFile);
    return experimental.createCertificateProviderServerCredentials(
      staticCertificates({ certificate, privateKey }),
      staticCertificates(undefined, caCertificate),
      false,
    );
  }

  private async connect(call: OpampGrpcCall): Promise<void> {
    if (this.stopping) return refuse(call, GrpcStatus.UNAVAILABLE, 'server shutting down');
    const auth = await this.authenticator
      .authenticate(metadataHeaders(call.metadata), 'grpc', grpcPeer(call))
      .catch(() => credentialsUncheckable(this.config.opamp.retryAfterSeconds));
    if (call.cancelled) return;
    if (!auth.ok) {
      if (auth.status === 503) {
        return refuse(call, GrpcStatus.UNAVAILABLE, auth.message, {
          'retry-after': String(auth.retryAfterSeconds),
          'grpc-retry-pushback-ms': String(auth.retryAfterSeconds * 1000),
        });
      }
      const code = auth.status === 403 ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED;
      return refuse(call, code, auth.message, refusalHeaders(auth));
    }
    const refusal = this.admission.admit('grpc');
    if (refusal) {
      return refuse(call, GrpcStatus.UNAVAILABLE, refusal.message, {
        'retry-after': String(retryAfterSeconds(refusal)),
        'grpc-retry-pushback-ms': String(refusal.retryAfterMs),
      });
    }
    this.transport.accept(call, auth.labels, auth.bearer);
  }

  /**
   * NOT_SERVING first (probes and load balancers stop sending agents here), then the streams
   * end with UNAVAILABLE, spread over the shutdown drain (ConnectionDrainer), so agents reconnect elsewhere, and the server shuts down gracefully;
   * whatever is still open when SHUTDOWN_GRACE_SECONDS have passed is closed by force.
   */
  beforeApplicationShutdown(): Promise<void> {
    // Before Nest disposes anything, like the WebSocket listener: the database is still there
    // to record the sessions' end. Idempotent, so the later hook is only a safety net.
    this.shutdown ??= this.stop();
    return this.shutdown;
  }

  onApplicationShutdown(): Promise<void> {
    return this.beforeApplicationShutdown();
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    this.listeners.set('grpc', false);
    this.health.shutdown();
    // No new calls, and GOAWAY on every connection: a stream ended below reconnects on a new
    // connection, through the load balancer, to another replica.
    const serverClosed = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.config.shutdownGraceSeconds * 1000)));
    // The agents' streams end gradually (the drain shared with the WebSocket listener), then whatever is left at once.
    const streamsHandled = this.drainer.drainForShutdown().then(() => this.transport.endAll('server shutting down'));
    const outcome = await Promise.race([Promise.all([streamsHandled, serverClosed]), graceOver]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(`gRPC streams still open or closing after the ${this.config.shutdownGraceSeconds} s shutdown grace period; closing them`);
      this.server.forceShutdown();
    }
    this.logger.log('gRPC listener closed');
  }
}

function refuse(call: OpampGrpcCall, code: GrpcStatus, details: string, trailers: Record<string, string> = {}): void {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  call.emit('error', { code, details, metadata });
}

/** Whether the stream's TLS client certificate verified against TLS_CLIENT_CA_FILE (grpc-js reports a certificate only then). */
function grpcPeer(call: OpampGrpcCall): AgentPeer {
  const cert = call.getAuthContext?.()?.sslPeerCertificate;
  return cert ? { certificateVerified: true, certificateSubject: cert.subject?.CN ? String(cert.subject.CN) : undefined } : { certificateVerified: false };
}

/**
 * A grpc-js certificate provider that always has the same identity or CA certificate. It
 * answers a new listener on the next microtask: grpc-js registers its own watcher only after
 * adding the listeners, and would miss an answer given synchronously.
 */
function staticCertificates(identity?: { certificate: Buffer; privateKey: Buffer }, caCertificate?: Buffer): experimental.CertificateProvider {
  return {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener(caCertificate ? { caCertificate } : null)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (listener) => queueMicrotask(() => listener(identity ?? null)),
    removeIdentityCertificateListener: () => undefined,
  };
}
