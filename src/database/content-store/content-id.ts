import { createHash } from 'node:crypto';

/** The kinds of body the content store holds; the prefix of each id. */
export type ContentKind = 'effective-config' | 'health' | 'remote-config';

const KINDS: readonly ContentKind[] = ['effective-config', 'health', 'remote-config'];
const ID = /^([a-z-]+):([0-9a-f]{64})$/;

/** The id of a body: `<kind>:<hex>`, where hex is the SHA-256 of the body's canonical bytes. */
export function contentId(kind: ContentKind, sha256Hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new Error(`content id: not a sha256 hex: ${sha256Hex.slice(0, 80)}`);
  return `${kind}:${sha256Hex}`;
}

/** The kind and hash of an id, or undefined when it is not one. */
export function parseContentId(id: string): { kind: ContentKind; hash: string } | undefined {
  const m = ID.exec(id);
  if (!m || !KINDS.includes(m[1] as ContentKind)) return undefined;
  return { kind: m[1] as ContentKind, hash: m[2] };
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
