/**
 * Hand-rolled protobuf pieces for the load generator. Messages are assembled from pre-encoded
 * field bytes (protobuf lets fields appear in any order), so a heartbeat costs one small
 * allocation instead of a message object and an encoder run; answers are scanned, not decoded,
 * unless they carry something the agent must act on (a remote config).
 */

/** Bytes a varint of `n` (0 <= n < 2^53) takes. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` as a varint at `off`; returns the offset after it. */
export function writeVarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

/** A length-delimited field (wire type 2): tag, length, payload. */
export function lenField(field: number, payload: Uint8Array): Buffer {
  const tag = (field << 3) | 2;
  const out = Buffer.allocUnsafe(varintLength(tag) + varintLength(payload.length) + payload.length);
  let off = writeVarint(out, 0, tag);
  off = writeVarint(out, off, payload.length);
  out.set(payload, off);
  return out;
}

/** A varint field (wire type 0). */
export function varintField(field: number, value: number): Buffer {
  const tag = field << 3;
  const out = Buffer.allocUnsafe(varintLength(tag) + varintLength(value));
  writeVarint(out, writeVarint(out, 0, tag), value);
  return out;
}

/**
 * Assembles one AgentToServer: `head` (the WebSocket 0x00 header byte is its first byte when
 * `withHeader`), the given pre-encoded parts, then sequence_num (field 2). One allocation.
 */
export function assemble(withHeader: boolean, parts: readonly Uint8Array[], seq: number): Buffer {
  let len = withHeader ? 1 : 0;
  for (const p of parts) len += p.length;
  len += 1 + varintLength(seq);
  const out = Buffer.allocUnsafe(len);
  let off = 0;
  if (withHeader) out[off++] = 0x00;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out[off++] = 0x10; // field 2, varint
  writeVarint(out, off, seq);
  return out;
}

/** What the agent needs to know of a ServerToAgent, found without decoding it. */
export interface ReplyScan {
  ok: boolean;
  flags: number;
  capabilities: number;
  hasCapabilities: boolean;
  hasRemoteConfig: boolean;
  hasError: boolean;
  hasCommand: boolean;
  hasNewUid: boolean;
  hasConnectionSettings: boolean;
}

function readVarint(buf: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let mul = 1;
  for (let n = 0; n < 10; n++) {
    if (pos.i >= buf.length) throw new RangeError('truncated varint');
    const b = buf[pos.i++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new RangeError('varint too long');
}

/** Scans the top-level fields of a ServerToAgent (field numbers from wire-facts.md). */
export function scanServerToAgent(buf: Uint8Array, start = 0): ReplyScan {
  const r: ReplyScan = {
    ok: true,
    flags: 0,
    capabilities: 0,
    hasCapabilities: false,
    hasRemoteConfig: false,
    hasError: false,
    hasCommand: false,
    hasNewUid: false,
    hasConnectionSettings: false,
  };
  const pos = { i: start };
  try {
    while (pos.i < buf.length) {
      const tag = readVarint(buf, pos);
      const field = Math.floor(tag / 8);
      const wt = tag & 7;
      if (wt === 0) {
        const v = readVarint(buf, pos);
        if (field === 6) r.flags = v;
        else if (field === 7) {
          r.capabilities = v;
          r.hasCapabilities = true;
        }
      } else if (wt === 2) {
        const len = readVarint(buf, pos);
        pos.i += len;
        if (pos.i > buf.length) throw new RangeError('truncated field');
        if (field === 2) r.hasError = true;
        else if (field === 3) r.hasRemoteConfig = true;
        else if (field === 4) r.hasConnectionSettings = true;
        else if (field === 8) r.hasNewUid = true;
        else if (field === 9) r.hasCommand = true;
      } else if (wt === 1) pos.i += 8;
      else if (wt === 5) pos.i += 4;
      else throw new RangeError(`wire type ${wt}`);
    }
  } catch {
    r.ok = false;
  }
  return r;
}
