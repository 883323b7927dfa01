import {
  Bundle,
  bundleFromJSON,
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  ValidationError,
} from '@sigstore/bundle';
import { HashAlgorithm, TrustedRoot } from '@sigstore/protobuf-specs';
import { PolicyError, SignedEntity, toSignedEntity, toTrustMaterial, TrustMaterial, VerificationError, Verifier } from '@sigstore/verify';
import { createPublicKey, createVerify, KeyObject, Verify } from 'node:crypto';
import { SignatureRefused } from './package-signature';

/**
 * Sigstore bundles of uploaded package files, verified offline: the certificate chain against the
 * configured trusted root's Fulcio CAs, the transparency log entries against its Rekor keys
 * (inclusion promise or proof, checked in the bundle, never by asking Rekor), the certificate's
 * SCTs against its CT log keys, RFC 3161 timestamps against its timestamp authorities, and the
 * signer (certificate SAN and OIDC issuer) against the configured policy. A keyed bundle (its
 * verification material a public key hint) is checked against the package signing key.
 *
 * @sigstore/verify checks all of that, but it verifies a message signature over the artifact held
 * in memory, and a package may be hundreds of MiB. So the signature itself is checked here, fed the
 * bytes as they stream, with the key the bundle names; the library's own signature step is handed
 * that result, and only for that same key (the one it arrives at after checking the chain).
 */

const MEDIA_TYPES = new Set([BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE, BUNDLE_V03_LEGACY_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE]);

export interface SigstorePolicy {
  /** The trusted root (TrustedRoot JSON); without it only keyed bundles can be verified. */
  trustedRootJson?: string | Buffer;
  /** The exact certificate SAN a keyless bundle must carry. */
  identity?: string;
  /** A pattern the certificate SAN must match (both, when both are given). */
  identityRegexp?: RegExp;
  /** The exact OIDC issuer of a keyless bundle's certificate. */
  oidcIssuer?: string;
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
}

/** Who signed a verified bundle: the certificate's SAN and OIDC issuer (keyless), or the signing key (keyed). */
export interface SigstoreSigner {
  kind: 'certificate' | 'public-key';
  identity?: string;
  issuer?: string;
}

/** One bundle's check in progress: fed the file's bytes as they stream, then finished with their SHA-256. */
export interface SigstoreCheck {
  /** The bundle's JSON as uploaded: stored with the file and passed to agents. */
  readonly json: string;
  update(chunk: Buffer): void;
  /** The signer, or SignatureRefused naming what does not hold. */
  finish(digest: Buffer): SigstoreSigner;
}

export class SigstoreBundleVerifier {
  private readonly trust: TrustMaterial;
  private readonly keyless: boolean;

  constructor(
    private readonly policy: SigstorePolicy,
    private readonly signingKey: KeyObject | undefined,
  ) {
    let root: TrustedRoot;
    try {
      root = policy.trustedRootJson
        ? TrustedRoot.fromJSON(JSON.parse(policy.trustedRootJson.toString()))
        : { mediaType: '', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
    } catch (err) {
      throw new Error(`the Sigstore trusted root is not a TrustedRoot JSON: ${(err as Error).message}`);
    }
    this.keyless = Boolean(policy.trustedRootJson);
    // The server has one signing key: a keyed bundle's hint names a key in the signer's own terms
    // (often empty), so whatever it says, the bundle is checked against that one key.
    const keyFinder = (): { publicKey: KeyObject; validFor: () => boolean } => {
      if (!signingKey) throw new VerificationError({ code: 'PUBLIC_KEY_ERROR', message: 'no package signing key is configured' });
      return { publicKey: signingKey, validFor: () => true };
    };
    try {
      this.trust = toTrustMaterial(root, keyFinder);
    } catch (err) {
      throw new Error(`the Sigstore trusted root cannot be used: ${(err as Error).message}`);
    }
  }

  /**
   * Parses the bundle (as uploaded: base64 of its JSON) and starts its check; refuses, before a byte
   * of the file is read, a bundle that is not one or that this server is not set up to verify.
   */
  start(base64: string): SigstoreCheck {
    const json = decodeBundleText(base64);
    let bundle: Bundle;
    try {
      const doc = JSON.parse(json) as { mediaType?: unknown };
      if (typeof doc?.mediaType !== 'string' || !MEDIA_TYPES.has(doc.mediaType)) {
        throw new SignatureRefused(`the Sigstore bundle's mediaType must be one of ${[...MEDIA_TYPES].join(', ')}`);
      }
      bundle = bundleFromJSON(doc);
    } catch (err) {
      if (err instanceof SignatureRefused) throw err;
      const fields = err instanceof ValidationError && err.fields?.length ? ` (${err.fields.join(', ')})` : '';
      throw new SignatureRefused(`sigstoreBundle is not a Sigstore bundle: ${(err as Error).message}${fields}`);
    }
    if (bundle.content.$case !== 'messageSignature') {
      throw new SignatureRefused(
        'the Sigstore bundle holds a DSSE envelope (an attestation about the file), not a signature of the file; sign the file itself (cosign sign-blob)',
      );
    }
    const { messageDigest } = bundle.content.messageSignature;
    if (messageDigest && messageDigest.algorithm !== HashAlgorithm.SHA2_256 && messageDigest.algorithm !== HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED) {
      throw new SignatureRefused(
        `the Sigstore bundle's message digest is not SHA-256 (${HashAlgorithm[messageDigest.algorithm]}); package files are signed over SHA-256`,
      );
    }
    let entity: SignedEntity;
    try {
      entity = toSignedEntity(bundle);
    } catch (err) {
      throw new SignatureRefused(`sigstoreBundle is not a Sigstore bundle: ${(err as Error).message}`);
    }
    // One entry given twice must not count twice toward PACKAGE_SIGSTORE_TLOG_THRESHOLD (@sigstore/verify 3 would count it; 4.x refuses it too).
    const entries = entity.tlogEntries.map((e) => `${Buffer.from(e.logId.keyId).toString('hex')}:${Buffer.from(e.canonicalizedBody).toString('base64')}`);
    if (new Set(entries).size !== entries.length) throw new SignatureRefused('the Sigstore bundle has the same transparency log entry twice');
    const key = this.signatureKey(entity);
    if (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') {
      throw new SignatureRefused(
        'the Sigstore bundle is signed with an EdDSA key, which signs the whole file in one piece; this server checks package signatures as the bytes stream, so sign with an ECDSA or RSA key',
      );
    }
    const stream: Verify = createVerify('sha256');
    return {
      json,
      update: (chunk) => stream.update(chunk),
      finish: (digest) => this.finish(bundle, entity, key, stream, digest),
    };
  }

  /** The key the message signature is checked with: the certificate's (keyless) or the package signing key (keyed). */
  private signatureKey(entity: SignedEntity): KeyObject {
    if (entity.key.$case === 'public-key') {
      if (!this.signingKey) {
        throw new SignatureRefused(
          'the Sigstore bundle is keyed (a public key hint), but no package signing key is configured (PACKAGE_SIGNING_PUBLIC_KEY_FILE) to check it against',
        );
      }
      return this.signingKey;
    }
    if (!this.keyless) {
      throw new SignatureRefused(
        'the Sigstore bundle is keyless (a Fulcio certificate), but Sigstore verification is not configured on this server: set PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE and the signer to expect',
      );
    }
    try {
      return createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' });
    } catch (err) {
      throw new SignatureRefused(`the Sigstore bundle's certificate has no usable public key: ${(err as Error).message}`);
    }
  }

  private finish(bundle: Bundle, entity: SignedEntity, key: KeyObject, stream: Verify, digest: Buffer): SigstoreSigner {
    const content = entity.signature;
    if (!content.compareDigest(digest)) {
      const signed = bundle.content.$case === 'messageSignature' ? bundle.content.messageSignature.messageDigest?.digest : undefined;
      throw new SignatureRefused(
        `the Sigstore bundle signs other bytes (SHA-256 ${signed ? Buffer.from(signed).toString('hex') : 'not given'}), not the upload's ${digest.toString('hex')}`,
      );
    }
    let verified = false;
    try {
      verified = stream.verify(key, content.signature);
    } catch {
      // A malformed signature (bad DER, wrong length) is one that does not verify.
    }
    // The library's own content in every other respect (digest and signature comparisons against the
    // log entries), inherited; only its signature check is the streamed one. The library reaches it
    // with the key of the chain it verified (or the keyed bundle's key): the result holds for that key only.
    const streamed: SignedEntity['signature'] = Object.assign(Object.create(content) as SignedEntity['signature'], {
      verifySignature: (checkedKey: KeyObject) => verified && checkedKey.equals(key),
    });
    // A log entry gives a time only under its inclusion promise (the log signed it); a proof alone does not.
    const dated = entity.timestamps.filter((t) => t.$case === 'timestamp-authority' || t.tlogEntry.inclusionPromise !== undefined);
    if (entity.key.$case === 'certificate' && dated.length === 0) {
      // A certificate lives minutes; it can only be judged at a time someone trusted vouches for.
      throw new SignatureRefused(
        "the Sigstore bundle's certificate cannot be checked: the bundle has no verified time (a log entry with an inclusion promise, or an RFC 3161 timestamp)",
      );
    }
    try {
      const signer = this.verifierFor(entity).verify({ ...entity, signature: streamed }, entity.key.$case === 'certificate' ? this.libraryPolicy() : undefined);
      if (entity.key.$case === 'public-key') return { kind: 'public-key' };
      const identity = signer.identity?.subjectAlternativeName;
      if (this.policy.identity !== undefined && this.policy.identityRegexp && !(identity ?? '').match(this.policy.identityRegexp)) {
        throw new PolicyError({
          code: 'UNTRUSTED_SIGNER_ERROR',
          message: `certificate identity error - expected ${this.policy.identityRegexp}, got ${identity}`,
        });
      }
      return { kind: 'certificate', identity, issuer: signer.identity?.extensions?.issuer };
    } catch (err) {
      if (err instanceof PolicyError) throw new SignatureRefused(`the Sigstore bundle's signer is not the one expected: ${err.message}`);
      if (err instanceof VerificationError) throw new SignatureRefused(`the Sigstore bundle does not verify (${err.code}): ${describe(err)}`);
      throw new SignatureRefused(`the Sigstore bundle cannot be verified: ${(err as Error).message}`);
    }
  }

  /**
   * The library's verifier, with only the logs the bundle's entries name: @sigstore/verify 3 checks
   * an inclusion proof's checkpoint against every trusted log, so a checkpoint is bound to its
   * entry's log here (4.x does it itself, but needs Node 22). Cheap: it only holds the material.
   */
  private verifierFor(entity: SignedEntity): Verifier {
    const tlogs = this.trust.tlogs.filter((log) => entity.tlogEntries.some((e) => log.logID.equals(e.logId.keyId)));
    return new Verifier(
      { ...this.trust, tlogs },
      { tlogThreshold: this.policy.tlogThreshold, ctlogThreshold: this.policy.ctlogThreshold, timestampThreshold: this.policy.timestampThreshold },
    );
  }

  /** The signer policy for keyless bundles (a keyed one is its key: nothing more to check). */
  private libraryPolicy(): { subjectAlternativeName?: string; extensions?: { issuer: string } } {
    const { identity, identityRegexp, oidcIssuer } = this.policy;
    return {
      // The library reads the SAN as a pattern; an exact identity is made a pattern that matches only itself.
      subjectAlternativeName: identity !== undefined ? `^${identity.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : identityRegexp?.source,
      ...(oidcIssuer !== undefined ? { extensions: { issuer: oidcIssuer } } : {}),
    };
  }
}

/** The bundle's JSON text from the base64 (standard or URL-safe) it is uploaded as. */
function decodeBundleText(base64: string): string {
  const trimmed = base64.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) throw new SignatureRefused('sigstoreBundle must be the base64 (standard or URL-safe) of the bundle JSON');
  const text = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
  if (!text.trimStart().startsWith('{')) throw new SignatureRefused('sigstoreBundle must be the base64 of the bundle JSON; this is not JSON');
  return text;
}

/** A verification error's message with its cause (the chain's own reason), when it has one. */
function describe(err: VerificationError): string {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
}
