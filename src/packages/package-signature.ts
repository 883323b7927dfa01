import { createPublicKey, createVerify, KeyObject, verify as verifyOneShot, Verify } from 'node:crypto';

/**
 * Signatures of uploaded package files, checked against the one configured public key
 * (PACKAGE_SIGNING_PUBLIC_KEY_FILE, PEM):
 *  - RSA (PKCS#1 v1.5) and ECDSA (DER): SHA-256 over the file's bytes, as `openssl dgst -sha256 -sign key.pem file` makes;
 *  - Ed25519: over the 32-byte SHA-256 digest of the file (Ed25519 signs a message in one piece, and
 *    a package may be hundreds of MiB), as `openssl pkeyutl -sign -rawin -inkey key.pem -in file.sha256` makes
 *    from the binary digest.
 * A Sigstore bundle is not a signature: it comes as `sigstoreBundle` and is verified by
 * package-sigstore.ts; one sent as `signature` is refused rather than passed on unverified.
 */
export type SignatureAlgorithm = 'rsa-sha256' | 'ecdsa-sha256' | 'ed25519-sha256-digest';

/** Why a signature is refused; the service turns it into a 400. */
export class SignatureRefused extends Error {}

/** One check in progress: fed the file's bytes as they stream, then asked with the digest. */
export interface SignatureCheck {
  update(chunk: Buffer): void;
  /** True when `signature` is the key's signature of the file whose SHA-256 is `digest`. */
  verify(signature: Buffer, digest: Buffer): boolean;
}

export class PackageSignatureVerifier {
  readonly algorithm: SignatureAlgorithm;

  private constructor(readonly key: KeyObject) {
    const type = key.asymmetricKeyType;
    if (type === 'rsa' || type === 'rsa-pss') this.algorithm = 'rsa-sha256';
    else if (type === 'ec') this.algorithm = 'ecdsa-sha256';
    else if (type === 'ed25519') this.algorithm = 'ed25519-sha256-digest';
    else throw new Error(`the package signing key is a ${type} key; RSA, ECDSA or Ed25519 are supported`);
  }

  /** The verifier of a PEM public key (or certificate); throws with the reason when it is not one. */
  static fromPem(pem: string | Buffer): PackageSignatureVerifier {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (err) {
      throw new Error(`the package signing key is not a PEM public key: ${(err as Error).message}`);
    }
    return new PackageSignatureVerifier(key);
  }

  start(): SignatureCheck {
    if (this.algorithm === 'ed25519-sha256-digest') {
      return { update: () => undefined, verify: (signature, digest) => safely(() => verifyOneShot(null, digest, this.key, signature)) };
    }
    const v: Verify = createVerify('sha256');
    return { update: (chunk) => v.update(chunk), verify: (signature) => safely(() => v.verify(this.key, signature)) };
  }
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    // A malformed signature (bad DER, wrong length) is a signature that does not verify.
    return false;
  }
}

/** The signature as sent (base64), or the reason it cannot be taken. */
export function decodeSignature(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new SignatureRefused('signature must be base64 (standard or URL-safe)');
  const bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length === 0) throw new SignatureRefused('signature is empty');
  if (isSigstoreBundle(bytes)) {
    throw new SignatureRefused(
      'signature is a Sigstore bundle; upload it as sigstoreBundle (base64 of the bundle JSON), which is verified against the bytes. ' +
        "An external file's bytes never reach this server, so its bundle could not be verified and is refused rather than passed on unverified.",
    );
  }
  return bytes;
}

function isSigstoreBundle(bytes: Buffer): boolean {
  if (bytes[0] !== 0x7b) return false;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    return typeof doc.mediaType === 'string' && doc.mediaType.startsWith('application/vnd.dev.sigstore.bundle');
  } catch {
    return false;
  }
}
