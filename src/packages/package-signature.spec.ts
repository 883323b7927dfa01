import { createHash, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { decodeSignature, PackageSignatureVerifier, SignatureRefused } from './package-signature';

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** Feeds the file in pieces, as an upload streams. */
function check(verifier: PackageSignatureVerifier, file: Buffer, signature: Buffer): boolean {
  const c = verifier.start();
  for (let i = 0; i < file.length; i += 7) c.update(file.subarray(i, i + 7));
  return c.verify(signature, createHash('sha256').update(file).digest());
}

describe('package signatures', () => {
  const file = Buffer.from('the bytes of an agent package, streamed in pieces');
  const other = Buffer.from('some other bytes');

  it('verifies RSA (PKCS#1 v1.5) and ECDSA signatures made with SHA-256 over the file', () => {
    for (const pair of [generateKeyPairSync('rsa', { modulusLength: 2048 }), generateKeyPairSync('ec', { namedCurve: 'P-256' })]) {
      const v = PackageSignatureVerifier.fromPem(pem(pair.publicKey));
      expect(v.algorithm).toBe(pair.publicKey.asymmetricKeyType === 'rsa' ? 'rsa-sha256' : 'ecdsa-sha256');
      expect(check(v, file, sign('sha256', file, pair.privateKey))).toBe(true);
      expect(check(v, file, sign('sha256', other, pair.privateKey))).toBe(false);
      expect(check(v, file, Buffer.from('not a signature at all'))).toBe(false);
    }
  });

  it('verifies Ed25519 signatures over the SHA-256 digest of the file', () => {
    const pair = generateKeyPairSync('ed25519');
    const v = PackageSignatureVerifier.fromPem(pem(pair.publicKey));
    expect(v.algorithm).toBe('ed25519-sha256-digest');
    const digest = createHash('sha256').update(file).digest();
    expect(check(v, file, sign(null, digest, pair.privateKey))).toBe(true);
    // A signature over the file itself (not its digest) is not what this server checks.
    expect(check(v, file, sign(null, file, pair.privateKey))).toBe(false);
  });

  it('refuses a signature from another key', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(check(PackageSignatureVerifier.fromPem(pem(a.publicKey)), file, sign('sha256', file, b.privateKey))).toBe(false);
  });

  it('says why a key file is not usable', () => {
    expect(() => PackageSignatureVerifier.fromPem('not a key')).toThrow(/not a PEM public key/);
  });

  it('decodes base64 signatures and refuses a Sigstore bundle sent as a signature, pointing at sigstoreBundle', () => {
    expect(decodeSignature(Buffer.from([1, 2, 3]).toString('base64'))).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeSignature(Buffer.from([251, 255]).toString('base64url'))).toEqual(Buffer.from([251, 255]));
    expect(() => decodeSignature('!!')).toThrow(SignatureRefused);
    const bundle = Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2' })).toString('base64');
    expect(() => decodeSignature(bundle)).toThrow(/Sigstore bundle; upload it as sigstoreBundle/);
  });
});
