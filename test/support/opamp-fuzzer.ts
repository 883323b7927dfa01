import { create, toBinary } from '@bufbuild/protobuf';
import { gzipSync } from 'node:zlib';
import { AnyValue, AnyValueSchema, ArrayValueSchema, KeyValue, KeyValueListSchema, KeyValueSchema } from '../../src/gen/opamp/v1/anyvalue_pb';
import {
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentDescriptionSchema,
  AgentDisconnectSchema,
  AgentToServer,
  AgentToServerSchema,
  AvailableComponentsSchema,
  ComponentDetails,
  ComponentDetailsSchema,
  ComponentHealth,
  ComponentHealthSchema,
  EffectiveConfigSchema,
  RemoteConfigStatusSchema,
} from '../../src/gen/opamp/v1/opamp_pb';

/**
 * The project's own seeded OpAMP fuzzer: every case is a pure function of (seed, index), so a
 * failure is reproduced by its seed and case number alone. Messages are built with the generated
 * types (valid ones) and then broken at the byte level.
 */

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  text(max: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz.-_$/ 0123456789éü€😀\u0000';
    return Array.from({ length: this.int(max + 1) }, () => alphabet[this.int(alphabet.length)]).join('');
  }
}

/** Per-case seed: the run's seed mixed with the case number. */
export function caseRng(seed: number, index: number, salt: number): Rng {
  return new Rng((Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35) ^ salt) >>> 0);
}

function anyValue(r: Rng, depth: number): AnyValue {
  const kinds = depth > 2 ? ['s', 'b', 'i', 'd', 'y'] : ['s', 'b', 'i', 'd', 'y', 'a', 'k'];
  switch (r.pick(kinds)) {
    case 's':
      return create(AnyValueSchema, { value: { case: 'stringValue', value: r.text(20) } });
    case 'b':
      return create(AnyValueSchema, { value: { case: 'boolValue', value: r.next() < 0.5 } });
    case 'i':
      return create(AnyValueSchema, {
        value: { case: 'intValue', value: BigInt.asIntN(64, BigInt(Math.floor(r.next() * 2 ** 53)) * BigInt(r.int(4096) - 2048)) },
      });
    case 'd':
      return create(AnyValueSchema, { value: { case: 'doubleValue', value: r.pick([0, -0, 1.5, NaN, Infinity, -Infinity, r.next() * 1e300]) } });
    case 'y':
      return create(AnyValueSchema, { value: { case: 'bytesValue', value: r.bytes(r.int(16)) } });
    case 'a':
      return create(AnyValueSchema, {
        value: { case: 'arrayValue', value: create(ArrayValueSchema, { values: Array.from({ length: r.int(4) }, () => anyValue(r, depth + 1)) }) },
      });
    default:
      return create(AnyValueSchema, { value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values: attributes(r, 3, depth + 1) }) } });
  }
}

function attributes(r: Rng, max: number, depth = 0): KeyValue[] {
  return Array.from({ length: r.int(max + 1) }, () => create(KeyValueSchema, { key: r.text(12), value: anyValue(r, depth) }));
}

function health(r: Rng, depth: number): ComponentHealth {
  const map: Record<string, ComponentHealth> = {};
  if (depth < 3) for (let i = r.int(3); i > 0; i--) map[r.text(8)] = health(r, depth + 1);
  return create(ComponentHealthSchema, {
    healthy: r.next() < 0.7,
    status: r.text(10),
    lastError: r.text(10),
    startTimeUnixNano: BigInt(r.int(2 ** 31)) * 1_000_000_000n,
    componentHealthMap: map,
    attributes: attributes(r, 2),
  });
}

/** The uid bytes of a case: mostly 16 bytes, sometimes a legacy ULID, sometimes malformed. */
function uid(r: Rng): Uint8Array {
  const x = r.next();
  if (x < 0.85) return r.bytes(16);
  if (x < 0.9) return Buffer.from('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'latin1');
  return r.bytes(r.pick([0, 1, 15, 17, 26, 40]));
}

/** A message a real agent could send (random but valid). */
export function validMessage(r: Rng, instanceUid: Uint8Array = r.bytes(16)): AgentToServer {
  const msg = create(AgentToServerSchema, { instanceUid, sequenceNum: BigInt(r.int(1000)), capabilities: BigInt(r.int(0x10000)) });
  if (r.next() < 0.7)
    msg.agentDescription = create(AgentDescriptionSchema, { identifyingAttributes: attributes(r, 4), nonIdentifyingAttributes: attributes(r, 4) });
  if (r.next() < 0.4) msg.health = health(r, 0);
  if (r.next() < 0.4) {
    msg.effectiveConfig = create(EffectiveConfigSchema, {
      configMap: create(AgentConfigMapSchema, {
        configMap: {
          [r.pick(['', 'collector.yaml'])]: create(AgentConfigFileSchema, { body: Buffer.from(r.text(200)), contentType: r.pick(['', 'text/yaml']) }),
        },
      }),
    });
  }
  if (r.next() < 0.3)
    msg.remoteConfigStatus = create(RemoteConfigStatusSchema, { lastRemoteConfigHash: r.bytes(32), status: r.int(5), errorMessage: r.text(10) });
  if (r.next() < 0.2) msg.availableComponents = create(AvailableComponentsSchema, { hash: r.bytes(8), components: {} });
  if (r.next() < 0.1) msg.flags = BigInt(r.int(4));
  if (r.next() < 0.05) msg.agentDisconnect = create(AgentDisconnectSchema, {});
  return msg;
}

const encode = (m: AgentToServer) => Buffer.from(toBinary(AgentToServerSchema, m));

function mutate(r: Rng, b: Buffer): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + r.int(4); n > 0; n--) {
    const at = out.length ? r.int(out.length) : 0;
    switch (r.int(4)) {
      case 0:
        if (out.length) out[at] ^= 1 << r.int(8);
        break;
      case 1:
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + r.int(8)))]);
        break;
      default:
        if (out.length) out[at] = r.pick([0x00, 0x7f, 0x80, 0xff]);
    }
  }
  return out;
}

/** A varint of `n` (up to 2^64-1, or longer than 10 bytes when `overlong`). */
function varint(n: bigint, overlong = false): number[] {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n || overlong) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  if (overlong) out.push(...Array(11 - out.length).fill(0x80), 0x01);
  return out;
}

function hugeVarint(r: Rng): Buffer {
  switch (r.int(5)) {
    case 0: // sequence_num of 2^64-1
      return Buffer.from([0x0a, 16, ...r.bytes(16), 0x10, ...varint(2n ** 64n - 1n)]);
    case 1: // a length-delimited field claiming 2^40 bytes
      return Buffer.from([0x1a, ...varint(2n ** 40n), 1, 2, 3]);
    case 2: // a varint longer than 10 bytes
      return Buffer.from([0x10, ...varint(5n, true)]);
    case 3: // the largest field number, wire type 2, length 2^31
      return Buffer.from([...varint(((2n ** 29n - 1n) << 3n) | 2n), ...varint(2n ** 31n), 0]);
    default: // capabilities and flags of 2^64-1 with a valid uid
      return Buffer.from([0x0a, 16, ...r.bytes(16), 0x20, ...varint(2n ** 64n - 1n), 0x50, ...varint(2n ** 64n - 1n)]);
  }
}

function deepNesting(r: Rng): Buffer {
  switch (r.int(3)) {
    case 0: {
      let v = create(AnyValueSchema, { value: { case: 'stringValue', value: 'leaf' } });
      for (let i = 0; i < 30 + r.int(100); i++) {
        v = create(AnyValueSchema, {
          value: { case: 'kvlistValue', value: create(KeyValueListSchema, { values: [create(KeyValueSchema, { key: 'k', value: v })] }) },
        });
      }
      return encode(
        create(AgentToServerSchema, {
          instanceUid: r.bytes(16),
          agentDescription: create(AgentDescriptionSchema, { identifyingAttributes: [create(KeyValueSchema, { key: 'deep', value: v })] }),
        }),
      );
    }
    case 1: {
      let h = create(ComponentHealthSchema, { healthy: true });
      for (let i = 0; i < 9 + r.int(200); i++) h = create(ComponentHealthSchema, { componentHealthMap: { c: h } });
      return encode(create(AgentToServerSchema, { instanceUid: r.bytes(16), health: h }));
    }
    default: {
      // Unknown field 99 as nested groups (start-group tags), hundreds deep.
      const start = [0x9b, 0x06];
      return Buffer.from(Array.from({ length: 100 + r.int(2000) }, () => start).flat());
    }
  }
}

function wideReport(r: Rng): Buffer {
  const msg = create(AgentToServerSchema, { instanceUid: r.bytes(16), capabilities: 0x7fffn });
  switch (r.int(4)) {
    case 0:
      msg.agentDescription = create(AgentDescriptionSchema, {
        nonIdentifyingAttributes: Array.from({ length: 300 + r.int(3000) }, (_, i) =>
          create(KeyValueSchema, { key: `a${i}`, value: create(AnyValueSchema, { value: { case: 'stringValue', value: 'v' } }) }),
        ),
      });
      break;
    case 1: {
      const map: Record<string, ComponentHealth> = {};
      for (let i = 0; i < 2001 + r.int(3000); i++) map[`c${i}`] = create(ComponentHealthSchema, { healthy: true });
      msg.health = create(ComponentHealthSchema, { componentHealthMap: map });
      break;
    }
    case 2: {
      const components: Record<string, ComponentDetails> = {};
      for (let i = 0; i < 5001 + r.int(2000); i++) components[`c${i}`] = create(ComponentDetailsSchema, {});
      msg.availableComponents = create(AvailableComponentsSchema, { hash: r.bytes(8), components });
      break;
    }
    default:
      msg.agentDescription = create(AgentDescriptionSchema, {
        identifyingAttributes: [
          create(KeyValueSchema, {
            key: 'big',
            value: create(AnyValueSchema, { value: { case: 'stringValue', value: 'x'.repeat(17 * 1024 + r.int(100_000)) } }),
          }),
        ],
      });
  }
  return encode(msg);
}

/** Over the server's message limit as sent (`limit` bytes + some). */
function oversized(r: Rng, limit: number): Buffer {
  return encode(
    create(AgentToServerSchema, {
      instanceUid: r.bytes(16),
      agentDescription: create(AgentDescriptionSchema, {
        identifyingAttributes: [
          create(KeyValueSchema, { key: 'huge', value: create(AnyValueSchema, { value: { case: 'bytesValue', value: Buffer.alloc(limit + r.int(limit)) } }) }),
        ],
      }),
    }),
  );
}

export type CaseKind = 'random' | 'mutated' | 'truncated' | 'varint' | 'deep' | 'wide' | 'oversized' | 'gzip-bomb' | 'gzip' | 'uid-hop' | 'slow' | 'valid';

/** One fuzz case: what to send (one or more messages) and how. */
export interface FuzzCase {
  index: number;
  kind: CaseKind;
  /** Protobuf bytes (the WebSocket header is added by the sender, except for 'random' frames sent as they are). */
  messages: Buffer[];
  /** HTTP: the body is gzip (of `messages[0]`). */
  gzip?: boolean;
}

const KINDS: [CaseKind, number][] = [
  ['random', 16],
  ['mutated', 22],
  ['truncated', 10],
  ['varint', 8],
  ['deep', 8],
  ['wide', 6],
  ['oversized', 3],
  ['gzip-bomb', 3],
  ['gzip', 4],
  ['uid-hop', 6],
  ['slow', 4],
  ['valid', 10],
];

let bomb: Buffer | undefined;
/** 64 MiB of zeros, gzipped (~64 KiB): made once. */
export function gzipBomb(): Buffer {
  return (bomb ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }));
}

/** Case `index` of the run with `seed`, for a transport ('http' cases may use gzip). */
export function fuzzCase(seed: number, index: number, transport: 'websocket' | 'http' | 'grpc', maxMessageBytes: number): FuzzCase {
  const r = caseRng(seed, index, transport === 'websocket' ? 1 : transport === 'http' ? 2 : 3);
  const total = KINDS.reduce((n, [, w]) => n + w, 0);
  let x = r.int(total);
  let kind: CaseKind = 'valid';
  for (const [k, w] of KINDS) {
    if ((x -= w) < 0) {
      kind = k;
      break;
    }
  }
  if ((kind === 'gzip-bomb' || kind === 'gzip') && transport !== 'http') kind = 'mutated';
  const c = (messages: Buffer[], extra: Partial<FuzzCase> = {}): FuzzCase => ({ index, kind, messages, ...extra });
  switch (kind) {
    case 'random':
      return c([r.bytes(r.int(2048))]);
    case 'mutated':
      return c([mutate(r, encode(validMessage(r, uid(r))))]);
    case 'truncated': {
      const b = encode(validMessage(r, uid(r)));
      return c([b.subarray(0, r.int(Math.max(1, b.length)))]);
    }
    case 'varint':
      return c([hugeVarint(r)]);
    case 'deep':
      return c([deepNesting(r)]);
    case 'wide':
      return c([wideReport(r)]);
    case 'oversized':
      return c([oversized(r, maxMessageBytes)]);
    case 'gzip-bomb':
      return c([gzipBomb()], { gzip: true });
    case 'gzip': {
      const body = encode(validMessage(r));
      return c([r.next() < 0.5 ? gzipSync(body) : mutate(r, gzipSync(body))], { gzip: true });
    }
    case 'uid-hop':
      // One connection, a new uid in every message.
      return c(
        Array.from({ length: 3 + r.int(20) }, (_, i) =>
          encode(Object.assign(validMessage(r), { sequenceNum: BigInt(i), flags: 0n, agentDisconnect: undefined })),
        ),
      );
    case 'slow':
      return c([encode(validMessage(r))]);
    default:
      return c([encode(validMessage(r))]);
  }
}
