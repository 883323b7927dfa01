/**
 * An example OpAMP agent speaking OpAMP Commander's gRPC transport, for agent authors.
 *
 *   npm run build && node dist/examples/grpc-agent.js --address localhost:4321 --service-name demo
 *
 * Options: --address HOST:PORT (default localhost:4321), --ca FILE (connect with TLS, trusting
 * this CA), --token TOKEN (sent as `authorization: Bearer TOKEN`), --service-name NAME,
 * --run-seconds N (say goodbye and exit after N seconds).
 *
 * It uses only @grpc/grpc-js and the protobuf-es code generated from proto/ (`npm run
 * gen:proto`); any gRPC toolchain that compiles proto/opampcommander/v1/transport.proto works
 * the same way. What it shows: the agent speaks first, reads one answer per message, reports
 * full state when asked, applies pushed remote config and reports its status, keeps a
 * heartbeat, says goodbye with agent_disconnect, and reconnects with back-off (honouring the
 * server's `retry-after` trailer) when the stream ends.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { AnyValueSchema, KeyValueSchema } from '../src/gen/opamp/v1/anyvalue_pb';
import {
  AgentCapabilities,
  AgentConfigFileSchema,
  AgentConfigMap,
  AgentConfigMapSchema,
  AgentDescriptionSchema,
  AgentDisconnectSchema,
  AgentToServer,
  AgentToServerSchema,
  ComponentHealthSchema,
  EffectiveConfigSchema,
  RemoteConfigStatus,
  RemoteConfigStatuses,
  RemoteConfigStatusSchema,
  ServerToAgent,
  ServerToAgentFlags,
  ServerToAgentSchema,
} from '../src/gen/opamp/v1/opamp_pb';

/** The Connect method, with messages encoded by protobuf-es. */
const OpAMPTransportClient = grpc.makeGenericClientConstructor(
  {
    Connect: {
      path: '/opampcommander.v1.OpAMPTransport/Connect',
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: AgentToServer) => Buffer.from(toBinary(AgentToServerSchema, m)),
      requestDeserialize: (b: Buffer) => fromBinary(AgentToServerSchema, b),
      responseSerialize: (m: ServerToAgent) => Buffer.from(toBinary(ServerToAgentSchema, m)),
      responseDeserialize: (b: Buffer) => fromBinary(ServerToAgentSchema, b),
    },
  },
  'opampcommander.v1.OpAMPTransport',
);

export interface ExampleAgentOptions {
  address: string;
  /** PEM CA certificate to trust; TLS when set. */
  caCert?: Buffer;
  token?: string;
  serviceName: string;
  log?: (line: string) => void;
}

const CAPABILITIES =
  AgentCapabilities.AgentCapabilities_ReportsStatus |
  AgentCapabilities.AgentCapabilities_AcceptsRemoteConfig |
  AgentCapabilities.AgentCapabilities_ReportsEffectiveConfig |
  AgentCapabilities.AgentCapabilities_ReportsHealth |
  AgentCapabilities.AgentCapabilities_ReportsRemoteConfig |
  AgentCapabilities.AgentCapabilities_ReportsHeartbeat;

const kv = (key: string, value: string) => create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: { case: 'stringValue', value } }) });

/** A running example agent: `stop()` says goodbye (agent_disconnect) and closes the channel. */
export class ExampleGrpcAgent {
  /** 16 bytes chosen by the agent itself (a random UUID here; keep it stable across restarts in a real agent). */
  instanceUid = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  private seq = 0n;
  private heartbeatSeconds = 30;
  private config: AgentConfigMap = create(AgentConfigMapSchema, {
    configMap: { '': create(AgentConfigFileSchema, { body: Buffer.from('receivers: {}\n'), contentType: 'text/yaml' }) },
  });
  /** UNSET until a remote config arrives; reported from the start, as ReportsRemoteConfig promises. */
  private remoteConfigStatus: RemoteConfigStatus = create(RemoteConfigStatusSchema, { status: RemoteConfigStatuses.RemoteConfigStatuses_UNSET });
  private readonly client: grpc.Client;
  private call?: grpc.ClientDuplexStream<AgentToServer, ServerToAgent>;
  private heartbeat?: NodeJS.Timeout;
  private reconnect?: NodeJS.Timeout;
  private backoffSeconds = 1;
  private stopped = false;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ExampleAgentOptions) {
    this.log = opts.log ?? ((line) => console.log(line));
    const credentials = opts.caCert ? grpc.credentials.createSsl(opts.caCert) : grpc.credentials.createInsecure();
    this.client = new OpAMPTransportClient(opts.address, credentials, {
      // Our own pings keep NATs and load balancers from dropping a quiet stream.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
    });
  }

  start(): void {
    const metadata = new grpc.Metadata();
    if (this.opts.token) metadata.set('authorization', `Bearer ${this.opts.token}`);
    const call = (this.client as unknown as { Connect(md: grpc.Metadata): grpc.ClientDuplexStream<AgentToServer, ServerToAgent> }).Connect(metadata);
    this.call = call;
    call.on('data', (msg: ServerToAgent) => this.onMessage(msg));
    call.on('error', () => undefined); // the final status below says what happened
    call.on('status', (status: grpc.StatusObject) => this.onEnded(call, status));
    // The agent speaks first, with everything it has to say.
    this.send(this.fullState());
    this.log(`connecting to ${this.opts.address} as ${this.uidText}`);
  }

  get uidText(): string {
    const h = this.instanceUid.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Says goodbye and closes; resolves when the server has ended the stream. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnect);
    const call = this.call;
    if (call) {
      const ended = new Promise<void>((resolve) => call.once('status', () => resolve()));
      this.send(this.message({ agentDisconnect: create(AgentDisconnectSchema, {}) }));
      call.end();
      await Promise.race([ended, new Promise((r) => setTimeout(r, 5_000))]);
    }
    this.client.close();
  }

  private message(parts: MessageInitShape<typeof AgentToServerSchema> = {}): AgentToServer {
    return create(AgentToServerSchema, { instanceUid: this.instanceUid, sequenceNum: this.seq++, capabilities: BigInt(CAPABILITIES), ...parts });
  }

  private fullState(): AgentToServer {
    return this.message({
      agentDescription: create(AgentDescriptionSchema, {
        identifyingAttributes: [kv('service.name', this.opts.serviceName), kv('service.version', '1.0.0')],
        nonIdentifyingAttributes: [kv('host.name', hostname()), kv('os.type', process.platform)],
      }),
      health: create(ComponentHealthSchema, { healthy: true, startTimeUnixNano: BigInt(Date.now()) * 1_000_000n, status: 'running' }),
      effectiveConfig: create(EffectiveConfigSchema, { configMap: this.config }),
      remoteConfigStatus: this.remoteConfigStatus,
    });
  }

  private send(msg: AgentToServer): void {
    this.call?.write(msg);
  }

  private onMessage(msg: ServerToAgent): void {
    this.backoffSeconds = 1; // the server answered: the connection is good
    if (msg.errorResponse) {
      this.log(`server error: ${msg.errorResponse.errorMessage}`);
      return;
    }
    if (msg.agentIdentification?.newInstanceUid.length === 16) {
      this.instanceUid = Buffer.from(msg.agentIdentification.newInstanceUid);
      this.log(`the server assigned a new instance uid: ${this.uidText}`);
    }
    const heartbeat = msg.connectionSettings?.opamp?.heartbeatIntervalSeconds;
    if (heartbeat) this.heartbeatSeconds = Number(heartbeat);
    if (!this.heartbeat) this.startHeartbeat();

    if (msg.remoteConfig) {
      // "Apply" the configuration: a real agent would validate and load it here.
      this.config = msg.remoteConfig.config ?? create(AgentConfigMapSchema, {});
      this.remoteConfigStatus = create(RemoteConfigStatusSchema, {
        lastRemoteConfigHash: msg.remoteConfig.configHash,
        status: RemoteConfigStatuses.RemoteConfigStatuses_APPLIED,
      });
      this.log(
        `applied remote config ${Buffer.from(msg.remoteConfig.configHash).toString('hex').slice(0, 12)}… (${Object.keys(this.config.configMap).length} file(s))`,
      );
      this.send(this.message({ remoteConfigStatus: this.remoteConfigStatus, effectiveConfig: create(EffectiveConfigSchema, { configMap: this.config }) }));
    } else if ((msg.flags & BigInt(ServerToAgentFlags.ServerToAgentFlags_ReportFullState)) !== 0n) {
      this.send(this.fullState());
    }
  }

  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.send(this.message()), this.heartbeatSeconds * 1000);
    this.heartbeat.unref();
  }

  private onEnded(call: grpc.ClientDuplexStream<AgentToServer, ServerToAgent>, status: grpc.StatusObject): void {
    if (call !== this.call) return;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (this.stopped) return;
    const retryAfter = Number(status.metadata?.get('retry-after')[0] ?? NaN);
    const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : this.backoffSeconds;
    this.backoffSeconds = Math.min(this.backoffSeconds * 2, 60);
    this.log(`stream ended: ${grpc.status[status.code]} ${status.details}; reconnecting in ${wait} s`);
    this.reconnect = setTimeout(() => this.start(), wait * 1000);
  }
}

function parseArgs(argv: string[]): ExampleAgentOptions & { runSeconds?: number } {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const ca = get('ca');
  const runSeconds = get('run-seconds');
  return {
    address: get('address') ?? 'localhost:4321',
    caCert: ca ? fs.readFileSync(ca) : undefined,
    token: get('token'),
    serviceName: get('service-name') ?? 'example-grpc-agent',
    runSeconds: runSeconds ? Number(runSeconds) : undefined,
  };
}

if (require.main === module) {
  const { runSeconds, ...opts } = parseArgs(process.argv.slice(2));
  const agent = new ExampleGrpcAgent(opts);
  agent.start();
  const stop = () => void agent.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (runSeconds !== undefined) setTimeout(stop, runSeconds * 1000);
}
