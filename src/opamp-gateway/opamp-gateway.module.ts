import { AuditModule } from '../audit/audit.module';
import { ReplicaRegistry } from '../cluster/replica-registry.service';
import { BeforeApplicationShutdown, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AgentCommandRouter } from './agent-command-router';
import { AgentsModule } from '../agents/agents.module';
import { AgentsService } from '../agents/agents.service';
import { AgentAuthModule } from '../auth/enrollment/agent-auth.module';
import { DesiredStateModule } from '../desired-state/desired-state.module';
import { TelemetryModule } from '../telemetry/telemetry.module';
import { PackagesModule } from '../packages/packages.module';
import { TelemetryService } from '../telemetry/telemetry.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PeriodicTask } from '../common/periodic-task';
import { AdmissionControl } from './admission-control';
import { AgentCommandsController } from './agent-commands.controller';
import { ConnectedAgentsMetrics } from './connected-agents.metrics';
import { ConnectionRegistry } from './connection-registry';
import { ConnectionDrainer } from './connection-drainer';
import { ConnectionRebalancer, shareRecordAges } from './connection-rebalancer';
import { OverShareGate } from './over-share-gate';
import { OpampMetrics } from './opamp-metrics';
import { AgentDelivery } from './agent-delivery';
import { AgentPusher } from './agent-pusher';
import { OpampMessageHandler } from './opamp-message-handler';
import { SessionStore } from './session-store';
import { GrpcListener } from './transports/grpc-listener';
import { GrpcTransport } from './transports/grpc-transport';
import { HttpTransport } from './transports/http-transport';
import { OpampListener } from './transports/opamp-listener';
import { OpampWebSocketGateway } from './transports/opamp-websocket.gateway';
import { WebSocketTransport } from './transports/websocket-transport';

/** The OpAMP protocol: codec, transports, sessions, the one ServerToAgent builder. */
@Module({
  // AgentAuthModule provides the AgentAuthenticator every transport calls (enrollment tokens, mTLS).
  imports: [AgentsModule, DesiredStateModule, AgentAuthModule, TelemetryModule, AuditModule, PackagesModule],
  controllers: [AgentCommandsController],
  providers: [
    OpampMetrics,
    ConnectedAgentsMetrics,
    ConnectionRegistry,
    SessionStore,
    AgentDelivery,
    OpampMessageHandler,
    AgentPusher,
    AgentCommandRouter,
    ConnectionDrainer,
    ConnectionRebalancer,
    WebSocketTransport,
    HttpTransport,
    OpampListener,
    OpampWebSocketGateway,
    GrpcTransport,
    GrpcListener, // binds GRPC_PORT in its own onApplicationBootstrap, stops in onApplicationShutdown
    {
      provide: OverShareGate,
      inject: [APP_CONFIG, ConnectionRegistry],
      // The movable agents held, as the drainer and the rebalancer count them.
      useFactory: (config: AppConfig, registry: ConnectionRegistry) => new OverShareGate(config.replicaId, () => registry.connections, shareRecordAges(config)),
    },
    {
      provide: AdmissionControl,
      inject: [APP_CONFIG, WebSocketTransport, GrpcTransport, SessionStore, OverShareGate, OpampMetrics],
      useFactory: (config: AppConfig, ws: WebSocketTransport, grpc: GrpcTransport, sessions: SessionStore, gate: OverShareGate, metrics: OpampMetrics) =>
        new AdmissionControl(
          {
            maxConnections: config.opamp.maxConnections,
            perSecond: config.opamp.maxNewConnectionsPerSecond,
            retryAfterSeconds: config.opamp.retryAfterSeconds,
          },
          () => Math.max(ws.openConnections + grpc.openStreams, sessions.activeAgents),
          gate,
          (transport, reason) => metrics.rejected(transport, reason),
        ),
    },
  ],
  exports: [SessionStore, OpampListener, ConnectionRegistry],
})
export class OpampGatewayModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  /** Forgets sessions of agents gone silent, at the sweep cadence of the liveness rule (agents/agent-liveness.ts). */
  private readonly evictor: PeriodicTask;

  constructor(
    private readonly listener: OpampListener,
    private readonly sessions: SessionStore,
    private readonly drainer: ConnectionDrainer,
    private readonly rebalancer: ConnectionRebalancer,
    private readonly agents: AgentsService,
    private readonly replicas: ReplicaRegistry,
    private readonly telemetry: TelemetryService,
  ) {
    const logger = new Logger('OpampGateway');
    this.evictor = new PeriodicTask(
      async () => this.sessions.evictSilent(),
      (e) => logger.error(`evicting silent sessions failed: ${e}`),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    this.replicas.setLoadProbe(() => ({
      agents: this.sessions.activeAgents,
      movableAgents: this.drainer.movableConnections,
      rebalance: this.drainer.state,
    }));
    this.telemetry.setConnectedProbe((uid) => this.sessions.isActive(uid));
    this.rebalancer.start();
    this.replicas.onReplicaGone((replicaId) => this.agents.markReplicaDisconnected(replicaId));
    await this.listener.listen();
    this.evictor.start(this.agents.liveness.sweepEveryMs);
  }

  /**
   * Runs after every provider of this module closed its agent connections (Nest calls a module
   * class's hook after its providers'): one bulk write marks them all disconnected, where one
   * write per agent would take minutes for a large fleet on FerretDB.
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.agents.markReplicaDisconnected();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.evictor.stop();
  }
}
