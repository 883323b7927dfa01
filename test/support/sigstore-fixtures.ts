import { json as canonicalJson } from '@sigstore/core';
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A private Sigstore made at run time for tests: a Fulcio-like CA, a Rekor-like log key, a CT log
 * key, the trusted root JSON naming them, and Sigstore bundles (v0.3) built the way Fulcio and
 * Rekor build theirs: a short-lived leaf certificate with the signer's SAN, the Fulcio OIDC issuer
 * extension and an embedded SCT over its precertificate, and a hashedrekord log entry with a signed
 * entry timestamp (inclusion promise) and an inclusion proof under a signed checkpoint.
 * Certificates are encoded here in DER (the SCT is over the certificate's own TBS, so the test
 * must control its bytes); everything is signed with node's crypto.
 */

// ---- a small DER encoder ----

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
function integer(v: Buffer | number): Buffer {
  let b = typeof v === 'number' ? Buffer.from([v]) : v;
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  return tlv(0x02, b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, Buffer.from(out));
}
function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'ascii'));
}
const name = (cn: string) => seq(set(seq(oid('2.5.4.10'), utf8('opamp-commander tests'))), set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
const sha256 = (...b: Buffer[]) => {
  const h = createHash('sha256');
  for (const x of b) h.update(x);
  return h.digest();
};
const keyId = (key: KeyObject) => createHash('sha1').update(spki(key)).digest();

function tbsCertificate(o: {
  serial: Buffer;
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  extensions: Buffer[];
}): Buffer {
  return seq(
    tlv(0xa0, integer(2)),
    integer(o.serial),
    ECDSA_SHA256,
    o.issuer,
    seq(utcTime(o.notBefore), utcTime(o.notAfter)),
    o.subject,
    spki(o.publicKey),
    tlv(0xa3, seq(...o.extensions)),
  );
}
const certificate = (tbs: Buffer, issuerKey: KeyObject) => seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, issuerKey)));
const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
};

/** uint16/uint24/uint64 big-endian, as TLS encodes them. */
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

export const REKOR_ORIGIN = 'rekor.test.invalid';
export const OTHER_REKOR_ORIGIN = 'rekor2.test.invalid';
export const ISSUER = 'https://issuer.test.invalid';

export interface KeylessOptions {
  /** SAN of the certificate: an email (rfc822Name) or a URI. */
  email?: string;
  uri?: string;
  issuer?: string;
  /** Which Fulcio issuer extension to write (v1: raw ASCII; v2: DER UTF8String). */
  issuerExtension?: 'v1' | 'v2';
  /** Sign these bytes instead of the file (the bundle still claims the file's digest). */
  signedBytes?: Buffer;
  /** Claim this digest instead of the file's. */
  digest?: Buffer;
  /** Leave out the embedded SCT. */
  noSct?: boolean;
  /** Have the inclusion proof's checkpoint signed by the second log of the trusted root, not the entry's own. */
  checkpointByOtherLog?: boolean;
  /** Make the bundle as large as a public-instance one of a CI identity: Fulcio's workflow extensions, a deep log. */
  ciSized?: boolean;
  /** Makes the signature with the leaf's private key (default: node's crypto, SHA-256 over the signed bytes). */
  sign?: (key: KeyObject, bytes: Buffer) => Buffer;
}

export class SigstoreTestPki {
  readonly caKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly rekorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  /** A second log the trusted root also trusts (with `trustedRoot({ twoLogs: true })`). */
  readonly otherRekorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly ctKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly caName = name('sigstore-test-ca');
  readonly caDer: Buffer;

  constructor() {
    const now = Date.now();
    this.caDer = certificate(
      tbsCertificate({
        serial: Buffer.from([1]),
        issuer: this.caName,
        subject: this.caName,
        notBefore: new Date(now - 86_400_000),
        notAfter: new Date(now + 10 * 86_400_000),
        publicKey: this.caKey.publicKey,
        extensions: [
          extension(OID.basicConstraints, true, seq(bool(true))),
          extension(OID.keyUsage, true, bits(Buffer.from([0x06]), 1)),
          extension(OID.subjectKeyId, false, octets(keyId(this.caKey.publicKey))),
        ],
      }),
      this.caKey.privateKey,
    );
  }

  get caPem(): string {
    return pem(this.caDer);
  }

  /** The TrustedRoot JSON naming this CA, log and CT log. */
  trustedRoot(o: { twoLogs?: boolean } = {}): string {
    const start = new Date(Date.now() - 86_400_000).toISOString();
    const log = (key: KeyObject, baseUrl: string) => ({
      baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: spki(key).toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: sha256(spki(key)).toString('base64') },
    });
    return JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        log(this.rekorKey.publicKey, `https://${REKOR_ORIGIN}`),
        ...(o.twoLogs ? [log(this.otherRekorKey.publicKey, `https://${OTHER_REKOR_ORIGIN}`)] : []),
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'opamp-commander tests', commonName: 'sigstore-test-ca' },
          uri: 'https://fulcio.test.invalid',
          certChain: { certificates: [{ rawBytes: this.caDer.toString('base64') }] },
          validFor: { start },
        },
      ],
      ctlogs: [log(this.ctKey.publicKey, 'https://ctfe.test.invalid')],
      timestampAuthorities: [],
    });
  }

  /** A Fulcio-like leaf certificate for a fresh key (valid for ten minutes from a minute ago). */
  issueLeaf(o: KeylessOptions): { der: Buffer; key: KeyObject; publicKey: KeyObject } {
    const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    const san = o.uri !== undefined ? tlv(0x86, Buffer.from(o.uri, 'ascii')) : tlv(0x81, Buffer.from(o.email ?? 'release@example.com', 'ascii'));
    const issuer = o.issuer ?? ISSUER;
    const extensions = [
      extension(OID.keyUsage, true, bits(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, seq(oid(OID.codeSigning))),
      extension(OID.subjectKeyId, false, octets(keyId(leaf.publicKey))),
      extension(OID.authorityKeyId, false, seq(tlv(0x80, keyId(this.caKey.publicKey)))),
      extension(OID.subjectAltName, true, seq(san)),
      o.issuerExtension === 'v2' ? extension(OID.fulcioIssuerV2, false, utf8(issuer)) : extension(OID.fulcioIssuerV1, false, Buffer.from(issuer, 'ascii')),
      // What Fulcio adds for a CI workflow (repository, ref, digest, run URL, …): some 1.5 KiB of strings.
      ...(o.ciSized
        ? Array.from({ length: 16 }, (_, i) =>
            extension(`1.3.6.1.4.1.57264.1.${9 + i}`, false, utf8(`https://ci.example.com/org/repository/${'x'.repeat(60)}/${i}`)),
          )
        : []),
    ];
    const fields = {
      serial: randomBytes(16),
      issuer: this.caName,
      subject: seq(),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 600_000),
      publicKey: leaf.publicKey,
    };
    if (!o.noSct) {
      // The SCT signs the certificate without its SCT extension (the precertificate's TBS), as CT logs do.
      const precert = tbsCertificate({ ...fields, extensions });
      const timestamp = u64(now);
      const signed = Buffer.concat([
        Buffer.from([0, 0]), // v1, certificate_timestamp
        timestamp,
        u16(1), // precert_entry
        sha256(spki(this.caKey.publicKey)),
        u24(precert.length),
        precert,
        u16(0), // no extensions
      ]);
      const sig = sign('sha256', signed, this.ctKey.privateKey);
      const sct = Buffer.concat([Buffer.from([0]), sha256(spki(this.ctKey.publicKey)), timestamp, u16(0), Buffer.from([4, 3]), u16(sig.length), sig]);
      const list = Buffer.concat([u16(sct.length + 2), u16(sct.length), sct]);
      extensions.push(extension(OID.sctList, false, octets(list)));
    }
    return { der: certificate(tbsCertificate({ ...fields, extensions }), this.caKey.privateKey), key: leaf.privateKey, publicKey: leaf.publicKey };
  }

  /** A keyless bundle of `file`: a leaf certificate for the signer, its signature, and a Rekor entry. */
  keylessBundle(file: Buffer, o: KeylessOptions = {}): Record<string, unknown> {
    const leaf = this.issueLeaf(o);
    const signature = (o.sign ?? ((key, bytes) => sign('sha256', bytes, key)))(leaf.key, o.signedBytes ?? file);
    return this.bundle({ certificate: { rawBytes: leaf.der.toString('base64') } }, o.digest ?? sha256(file), signature, pem(leaf.der), {
      checkpointByOtherLog: o.checkpointByOtherLog,
      proofDepth: o.ciSized ? 26 : 1,
    });
  }

  /** A keyed bundle (public key hint) of `file` signed with `key` (ECDSA or RSA, SHA-256 over the file), with a Rekor entry. */
  keyedBundle(file: Buffer, key: KeyObject, publicKey: KeyObject, o: { withoutLogEntry?: boolean } = {}): Record<string, unknown> {
    const signature = sign('sha256', file, key);
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    return this.bundle({ publicKey: { hint: 'package-signing-key' } }, sha256(file), signature, publicPem, { none: o.withoutLogEntry });
  }

  private bundle(
    material: Record<string, unknown>,
    digest: Buffer,
    signature: Buffer,
    publicPem: string,
    entry: { none?: boolean; checkpointByOtherLog?: boolean; proofDepth?: number },
  ): Record<string, unknown> {
    return {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {
        ...material,
        tlogEntries: entry.none ? [] : [this.logEntry(digest, signature, publicPem, entry.checkpointByOtherLog ?? false, entry.proofDepth ?? 1)],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') }, signature: signature.toString('base64') },
    };
  }

  /**
   * A hashedrekord 0.0.1 entry as Rekor gives it: a signed entry timestamp and an inclusion proof
   * under a signed checkpoint, the entry the first leaf of a tree of 2^depth.
   */
  private logEntry(digest: Buffer, signature: Buffer, publicPem: string, checkpointByOtherLog: boolean, depth: number): Record<string, unknown> {
    const body = Buffer.from(
      canonicalJson.canonicalize({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
          signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(publicPem).toString('base64') } },
        },
      }),
      'utf8',
    );
    const logId = sha256(spki(this.rekorKey.publicKey));
    const logIndex = 0;
    const treeSize = 2 ** depth;
    const integratedTime = Math.floor(Date.now() / 1000);
    const promised = canonicalJson.canonicalize({ body: body.toString('base64'), integratedTime, logIndex, logID: logId.toString('hex') });
    const set = sign('sha256', Buffer.from(promised, 'utf8'), this.rekorKey.privateKey);
    // RFC 6962 hashes: leaf 0 climbs as the left child at every level, its siblings on the right.
    const siblings = Array.from({ length: depth }, () => randomBytes(32));
    const root = siblings.reduce((node, right) => sha256(Buffer.from([1]), node, right), sha256(Buffer.from([0]), body));
    const note = `${REKOR_ORIGIN} - test\n${treeSize}\n${root.toString('base64')}\n`;
    const noteKey = checkpointByOtherLog ? this.otherRekorKey : this.rekorKey;
    const noteName = checkpointByOtherLog ? OTHER_REKOR_ORIGIN : REKOR_ORIGIN;
    const noteSig = Buffer.concat([sha256(spki(noteKey.publicKey)).subarray(0, 4), sign('sha256', Buffer.from(note, 'utf8'), noteKey.privateKey)]);
    return {
      logIndex: String(logIndex),
      logId: { keyId: logId.toString('base64') },
      kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
      integratedTime: String(integratedTime),
      inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
      inclusionProof: {
        logIndex: String(logIndex),
        rootHash: root.toString('base64'),
        treeSize: String(treeSize),
        hashes: siblings.map((h) => h.toString('base64')),
        checkpoint: { envelope: `${note}\n\u2014 ${noteName} ${noteSig.toString('base64')}\n` },
      },
      canonicalizedBody: body.toString('base64'),
    };
  }
}

/** A bundle as the upload takes it: base64 of its JSON. */
export const bundleParam = (bundle: unknown) => Buffer.from(JSON.stringify(bundle)).toString('base64');
