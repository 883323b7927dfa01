import { randomBytes } from 'node:crypto';
import { MalformedMessageError } from './malformed-message';

/**
 * instance_uid handling. Agents send 16 bytes (a UUID, normally v7); agents of spec < v0.10
 * sent a 26-character ULID string in the same field. The canonical text is the 8-4-4-4-12 hex
 * form for 16 bytes and the ULID itself for legacy agents.
 */
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function uidToText(uid: Uint8Array): string {
  if (uid.length === 16) {
    const h = Buffer.from(uid).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  if (uid.length === 26) {
    const s = Buffer.from(uid).toString('latin1');
    if (ULID.test(s)) return s.toUpperCase();
  }
  throw new MalformedMessageError(`instance_uid must be 16 bytes (or a 26-character legacy ULID), got ${uid.length} bytes`);
}

/** Parses the canonical text form back to the bytes the agent uses; undefined when it is neither form. */
export function textToUid(text: string): Uint8Array | undefined {
  if (UUID.test(text)) return Buffer.from(text.replace(/-/g, ''), 'hex');
  if (ULID.test(text)) return Buffer.from(text.toUpperCase(), 'latin1');
  return undefined;
}

/** True for text that names an agent: a UUID or a legacy ULID. */
export function isUidText(text: string): boolean {
  return UUID.test(text) || ULID.test(text);
}

/** A fresh UUIDv7 (time-ordered, as the spec recommends) for RequestInstanceUid and clones. */
export function newUuidV7(): Uint8Array {
  const b = Buffer.alloc(16);
  const ms = Date.now();
  b.writeUIntBE(ms, 0, 6);
  const rnd = randomBytes(10);
  rnd.copy(b, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return b;
}
