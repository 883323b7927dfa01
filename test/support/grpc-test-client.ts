import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * A gRPC OpAMP peer whose message encoding is independent of the server's generated code:
 * `@grpc/proto-loader` (protobufjs) reads proto/opampcommander/v1/transport.proto at run time.
 * Messages are plain objects in proto-loader's form: camelCase fields, bytes as Buffer, 64-bit
 * integers as decimal strings, enums as their names.
 */
const LOADER_OPTIONS: protoLoader.Options = {
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: true,
  includeDirs: [path.resolve(__dirname, '../../proto')],
};

const definition = protoLoader.loadSync('opampcommander/v1/transport.proto', LOADER_OPTIONS);
const connect = (definition['opampcommander.v1.OpAMPTransport'] as grpc.ServiceDefinition).Connect as grpc.MethodDefinition<object, Msg>;
export const CONNECT_PATH = connect.path;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed messages
export type Msg = Record<string, any>;

/** Encodes an AgentToServer object with proto-loader (for tests that mix raw and proper messages). */
export function encodeAgentToServer(msg: Msg): Buffer {
  return connect.requestSerialize(msg);
}

/** 16 random bytes in UUID form, as an agent would assign itself. */
export function newAgentUid(): { bytes: Buffer; text: string } {
  const text = randomUUID();
  return { bytes: Buffer.from(text.replace(/-/g, ''), 'hex'), text };
}

export function attributes(o: Record<string, string>): Msg[] {
  return Object.entries(o).map(([key, v]) => ({ key, value: { stringValue: v } }));
}

/** A channel to the test server's gRPC port (plaintext unless credentials are given). */
export function channelCredentials(rootCert?: string): grpc.ChannelCredentials {
  return rootCert ? grpc.credentials.createSsl(Buffer.from(rootCert)) : grpc.credentials.createInsecure();
}

const GenericClient = grpc.makeGenericClientConstructor({}, 'opampcommander.v1.OpAMPTransport');

/** One Connect stream with a queue of what arrived and the final status. */
export class GrpcTestAgent {
  readonly received: Msg[] = [];
  status?: grpc.StatusObject;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly client: grpc.Client,
    readonly call: grpc.ClientDuplexStream<Buffer, Msg>,
  ) {
    call.on('data', (m: Msg) => {
      this.received.push(m);
      this.wake();
    });
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    call.on('error', () => undefined); // non-OK statuses arrive here too; `status` has them
  }

  /**
   * Opens a Connect stream. The method's request serializer is the identity, so a test can
   * write raw (even broken) bytes; `send` encodes proper messages with proto-loader first.
   */
  static open(
    port: number,
    opts: { metadata?: Record<string, string>; credentials?: grpc.ChannelCredentials; client?: grpc.Client; host?: string } = {},
  ): GrpcTestAgent {
    const client = opts.client ?? new GenericClient(`${opts.host ?? '127.0.0.1'}:${port}`, opts.credentials ?? grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
    const call = client.makeBidiStreamRequest<Buffer, Msg>(CONNECT_PATH, (b) => b, connect.responseDeserialize, md);
    return new GrpcTestAgent(client, call);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  private async waitFor(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  sendRaw(bytes: Buffer): void {
    this.call.write(bytes);
  }

  send(msg: Msg): void {
    this.sendRaw(encodeAgentToServer(msg));
  }

  /** Waits for the n-th message (1-based). */
  async nth(n: number, timeoutMs = 10_000): Promise<Msg> {
    await this.waitFor(() => this.received.length >= n || this.status !== undefined, `message ${n}`, timeoutMs);
    if (this.received.length < n) throw new Error(`stream ended with ${grpc.status[this.status!.code]} (${this.status!.details}) before message ${n}`);
    return this.received[n - 1];
  }

  /** Sends a message and returns its answer. */
  async exchange(msg: Msg): Promise<Msg> {
    const n = this.received.length + 1;
    this.send(msg);
    return this.nth(n);
  }

  /** Waits for the stream's final status. */
  async ended(timeoutMs = 10_000): Promise<grpc.StatusObject> {
    await this.waitFor(() => this.status !== undefined, 'the end of the stream', timeoutMs);
    return this.status!;
  }

  /** Half-closes (the agent is done sending) and waits for the server to end the stream. */
  async finish(): Promise<grpc.StatusObject> {
    this.call.end();
    return this.ended();
  }

  cancel(): void {
    this.call.cancel();
  }

  close(): void {
    this.client.close();
  }
}

/** `grpc.health.v1.Health`, described as protobufjs JSON so no .proto file is needed. */
const HEALTH_JSON = {
  nested: {
    grpc: {
      nested: {
        health: {
          nested: {
            v1: {
              nested: {
                HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
                HealthCheckResponse: {
                  fields: { status: { type: 'ServingStatus', id: 1 } },
                  nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
                },
                Health: {
                  methods: {
                    Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse' },
                    Watch: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', responseStream: true },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

type HealthClient = grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

/** A health client as any gRPC tooling (grpc-health-probe, kubelet) would be. */
export function healthClient(port: number, credentials = grpc.credentials.createInsecure(), host = '127.0.0.1'): HealthClient {
  const pkg = grpc.loadPackageDefinition(
    protoLoader.fromJSON(HEALTH_JSON as unknown as Parameters<typeof protoLoader.fromJSON>[0], { enums: String, defaults: true }),
  ) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => HealthClient } } };
  };
  return new pkg.grpc.health.v1.Health(`${host}:${port}`, credentials);
}

export function healthCheck(client: HealthClient, service = ''): Promise<{ status?: string; code?: grpc.status }> {
  return new Promise((resolve) => {
    client.Check({ service }, (err, res) => resolve(err ? { code: err.code } : { status: res?.status }));
  });
}
