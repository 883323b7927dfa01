import { create } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import { AgentDescriptionSchema, AgentToServer, AgentToServerSchema, ServerToAgent } from '../../src/gen/opamp/v1/opamp_pb';
import { AnyValueSchema, KeyValueSchema } from '../../src/gen/opamp/v1/anyvalue_pb';
import { decodeServerToAgent, encodeAgentToServer } from '../../src/opamp-gateway/protocol/opamp-codec';
import { newUuidV7, uidToText } from '../../src/protocol/instance-uid';

/** A hand-driven OpAMP peer for tests that need to send exact (or broken) bytes. */
export function agentMessage(init: Parameters<typeof create<typeof AgentToServerSchema>>[1]): AgentToServer {
  return create(AgentToServerSchema, init);
}

export function description(identifying: Record<string, string>, nonIdentifying: Record<string, string> = {}) {
  const kvs = (o: Record<string, string>) =>
    Object.entries(o).map(([key, v]) => create(KeyValueSchema, { key, value: create(AnyValueSchema, { value: { case: 'stringValue', value: v } }) }));
  return create(AgentDescriptionSchema, { identifyingAttributes: kvs(identifying), nonIdentifyingAttributes: kvs(nonIdentifying) });
}

export function newUid(): { bytes: Uint8Array; text: string } {
  const bytes = newUuidV7();
  return { bytes, text: uidToText(bytes) };
}

/** A WebSocket connection speaking raw OpAMP frames, with a queue of what arrived. */
export class RawWsAgent {
  readonly received: ServerToAgent[] = [];
  closeCode?: number;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.received.push(decodeServerToAgent(data[0] === 0 ? data.subarray(1) : data));
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  static connect(port: number, path = '/v1/opamp', headers: Record<string, string> = {}): Promise<RawWsAgent> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
      ws.once('open', () => resolve(new RawWsAgent(ws)));
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers })),
      );
      ws.once('error', reject);
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes, { binary: typeof bytes !== 'string' });
  }

  send(msg: AgentToServer): void {
    this.sendRaw(Buffer.concat([Buffer.from([0]), Buffer.from(encodeAgentToServer(msg))]));
  }

  /** Waits for the n-th message (1-based) to have arrived. */
  async nth(n: number, timeoutMs = 10_000): Promise<ServerToAgent> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (this.closeCode !== undefined) throw new Error(`socket closed with ${this.closeCode} before message ${n}`);
      if (Date.now() > deadline) throw new Error(`message ${n} did not arrive within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received[n - 1];
  }

  /** Sends a message and returns its answer. */
  async exchange(msg: AgentToServer, timeoutMs?: number): Promise<ServerToAgent> {
    const n = this.received.length + 1;
    this.send(msg);
    return this.nth(n, timeoutMs);
  }

  async closed(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.closeCode;
  }

  close(): Promise<number> {
    this.ws.close(1000);
    return this.closed();
  }
}

/** One plain-HTTP OpAMP exchange. */
export async function httpExchange(
  port: number,
  body: Uint8Array | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; bytes: Buffer; message?: ServerToAgent }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/opamp`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', ...headers },
    body,
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const message = res.status === 200 && res.headers.get('content-type') === 'application/x-protobuf' ? decodeServerToAgent(bytes) : undefined;
  return { status: res.status, headers: res.headers, bytes, message };
}

export { encodeAgentToServer };
