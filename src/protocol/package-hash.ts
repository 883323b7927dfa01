import { createHash } from 'node:crypto';

/**
 * The hashes of a packages offer (issue 21), deterministic across replicas and restarts so that
 * delivery can be hash-gated like configs: the same desired packages give the same hashes on
 * every replica, and any change of a name, a version or a file's bytes gives new ones. Each
 * field is length-prefixed so that no two different offers can be made to share an input.
 */

/** One package of an offer, as far as its identity goes. */
export interface PackageHashInput {
  name: string;
  version: string;
  /** SHA-256 of the file's bytes (the DownloadableFile's content_hash); empty when unknown. */
  contentHash: Uint8Array;
}

function hasher(domain: string) {
  const h = createHash('sha256');
  const field = (b: Uint8Array) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(b.length));
    h.update(len);
    h.update(b);
  };
  h.update(domain);
  return { field, text: (s: string) => field(Buffer.from(s, 'utf8')), digest: () => h.digest() };
}

/** PackageAvailable.hash: identifies one version of one package as offered (name, version, file hash). */
export function packageHash(p: PackageHashInput): Buffer {
  const h = hasher('opamp-commander/package/v1');
  h.text(p.name);
  h.text(p.version);
  h.field(p.contentHash);
  return h.digest();
}

/**
 * PackagesAvailable.all_packages_hash: over every package of the offer in name order (name,
 * version, file hash), so the order they were named in does not matter. An agent reports it
 * back as `server_provided_all_packages_hash`.
 */
export function allPackagesHash(packages: readonly PackageHashInput[]): Buffer {
  const h = hasher('opamp-commander/all-packages/v1');
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of sorted) {
    h.text(p.name);
    h.text(p.version);
    h.field(p.contentHash);
  }
  return h.digest();
}
