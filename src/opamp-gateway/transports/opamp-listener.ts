import { createServer, IncomingMessage, RequestListener, Server } from 'node:http';
import { createServer as createTlsServer, Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { WebSocket, WebSocketServer } from 'ws';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { PeriodicTask } from '../../common/periodic-task';
import { ListenersHealthIndicator } from '../../health/listeners.health';
import { AdmissionControl, retryAfterSeconds } from '../admission-control';
import { agentListenerTls, peerCertificateOf } from '../../common/tls-files';
import { AgentAuthenticator, AuthenticatedUpgrade, credentialsUncheckable, refusalHeaders } from '../../protocol/agent-authenticator';
import { HttpTransport } from './http-transport';
import { OTLP_METRICS_PATH, OtlpMetricsReceiver } from '../../telemetry/otlp-metrics.receiver';
import { PackageDownloads } from '../../packages/package-downloads';
import { OPAMP_PATHS, pathOf, refuseUpgrade } from './http-answers';
import { CLOSE_GOING_AWAY, WebSocketTransport } from './websocket-transport';
import { ConnectionDrainer } from '../connection-drainer';

/** The ping interval is divided into this many slices, each visiting a share of the sockets. */
const PING_SLICES = 10;

/**
 * The OpAMP port: one HTTP server for both standard transports. A GET with Upgrade becomes a
 * WebSocket only after path, admission and credentials pass (failures are plain HTTP answers,
 * 401/403/503, before any upgrade); a POST is handled by the HTTP transport. With TLS_CERT_FILE it
 * speaks TLS (wss://, https://), and with TLS_CLIENT_CA_FILE it asks agents for a client certificate.
 */
@Injectable()
export class OpampListener implements BeforeApplicationShutdown {
  private readonly logger = new Logger('OpampListener');
  readonly server: Server | TlsServer;
  readonly wss: WebSocketServer;
  private pinger?: PeriodicTask;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly http: HttpTransport,
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: AdmissionControl,
    private readonly health: ListenersHealthIndicator,
    private readonly webSockets: WebSocketTransport,
    private readonly ownMetrics: OtlpMetricsReceiver,
    private readonly downloads: PackageDownloads,
    private readonly drainer: ConnectionDrainer,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.opamp.maxMessageBytes,
      // Accepted when a client negotiates it, never required; no context takeover keeps the
      // per-connection zlib memory small for large fleets.
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 1024 },
    });
    const onRequest: RequestListener = (req, res) => {
      // Agents' own metrics (OTLP/HTTP) come to the port agents already reach, authenticated alike.
      if (config.telemetry.receiver && pathOf(req.url) === OTLP_METRICS_PATH) return void this.ownMetrics.handle(req, res);
      // Package files (issue 21) are downloaded from the port agents already reach, authenticated alike.
      if (PackageDownloads.serves(pathOf(req.url))) return void this.downloads.handle(req, res, pathOf(req.url));
      if (!OPAMP_PATHS.has(pathOf(req.url))) {
        req.resume();
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: OpAMP is served at /v1/opamp\n');
        return;
      }
      void this.http.handle(req, res);
    };
    const timeouts = { requestTimeout: 60_000, headersTimeout: 30_000 };
    const tls = agentListenerTls(config);
    this.server = tls ? createTlsServer({ ...timeouts, ...tls }, onRequest) : createServer(timeouts, onRequest);
    this.server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
    health.set('opamp', false);
  }

  /** Binds the OpAMP port; resolves with the bound port (useful when configured as 0). */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      // A deep accept queue: after a network blip thousands of agents reconnect within a second, and
      // Node's default backlog (511) drops handshakes that then wait for SYN retransmits or fail.
      // The kernel caps it at net.core.somaxconn.
      this.server.listen({ port: this.config.opampPort, host: this.config.host, backlog: 8192 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.startPinging();
    this.health.set('opamp', true);
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    if (!OPAMP_PATHS.has(pathOf(req.url))) return refuseUpgrade(socket, 404, 'OpAMP is served at /v1/opamp');
    const auth = await this.authenticator
      .authenticate(req.headers, 'websocket', peerCertificateOf(req.socket))
      .catch(() => credentialsUncheckable(this.config.opamp.retryAfterSeconds));
    if (!auth.ok) return refuseUpgrade(socket, auth.status, auth.message, refusalHeaders(auth));
    const refusal = this.admission.admit('websocket');
    if (refusal) return refuseUpgrade(socket, 503, refusal.message, { 'Retry-After': String(retryAfterSeconds(refusal)) });
    (req as AuthenticatedUpgrade).agentLabels = auth.labels;
    (req as AuthenticatedUpgrade).agentBearer = auth.bearer;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req));
  }

  /**
   * Reaps dead sockets. Each socket is visited once per ping interval; one that neither
   * answered the previous ping nor sent anything since is dropped. Visits are spread over the
   * interval in slices (a pass over 20,000 sockets at once stalled the event loop for half a
   * second); each socket keeps its slice, so it is visited exactly once per interval.
   */
  private startPinging(): void {
    const slices = PING_SLICES;
    let tick = 0;
    let assigned = 0;
    this.pinger = new PeriodicTask(
      async () => {
        const slice = tick++ % slices;
        for (const ws of this.wss.clients as Set<WebSocket & { isAlive?: boolean; pingSlice?: number }>) {
          ws.pingSlice ??= assigned++ % slices;
          if (ws.pingSlice !== slice) continue;
          if (ws.isAlive === false) {
            ws.terminate();
            continue;
          }
          ws.isAlive = false;
          ws.ping();
        }
      },
      (e) => this.logger.error(`pinging agent sockets failed: ${e}`),
    );
    this.pinger.start((this.config.opamp.wsPingIntervalSeconds * 1000) / slices);
  }

  /**
   * Runs before Nest disposes anything: stop accepting, close the agent sockets (1001) spread over
   * the shutdown drain (ConnectionDrainer) and then whatever is left, and wait until their sessions
   * are wound down, while the database is still there to record it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.health.set('opamp', false);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await this.drainer.drainForShutdown();
    await this.pinger?.stop();
    for (const ws of this.wss.clients) ws.close(CLOSE_GOING_AWAY, 'server shutting down');
    // Agents normally answer the close at once; one that does not is cut off shortly after.
    const cutoff = setTimeout(() => {
      for (const ws of this.wss.clients) ws.terminate();
      this.server.closeAllConnections();
    }, 2000);
    await closed;
    clearTimeout(cutoff);
    await this.webSockets.drain();
    this.logger.log('OpAMP listener closed');
  }
}
