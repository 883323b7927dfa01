import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleParam, ISSUER, SigstoreTestPki } from '../../test/support/sigstore-fixtures';
import { SigstoreBundleVerifier, SigstorePolicy } from './package-sigstore';
import { SignatureRefused } from './package-signature';

/** Feeds the file in pieces, as an upload streams, and finishes with its digest. */
function check(verifier: SigstoreBundleVerifier, bundle: unknown, file: Buffer) {
  const c = verifier.start(typeof bundle === 'string' ? bundle : bundleParam(bundle));
  for (let i = 0; i < file.length; i += 11) c.update(file.subarray(i, i + 11));
  return c.finish(createHash('sha256').update(file).digest());
}
const refusal = (work: () => unknown): string => {
  try {
    work();
  } catch (err) {
    if (err instanceof SignatureRefused) return err.message;
    throw err;
  }
  throw new Error('not refused');
};

describe('Sigstore bundles of package files, verified offline', () => {
  const pki = new SigstoreTestPki();
  const file = Buffer.from('the bytes of an agent package, streamed in pieces, signed keyless');
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const policy: SigstorePolicy = {
    trustedRootJson: pki.trustedRoot(),
    identity: 'release@example.com',
    oidcIssuer: ISSUER,
    tlogThreshold: 1,
    ctlogThreshold: 1,
    timestampThreshold: 1,
  };
  const verifier = new SigstoreBundleVerifier(policy, signing.publicKey);

  it('builds certificates openssl takes as a chain (the fixtures are real X.509)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigstore-x509-'));
    try {
      const leaf = pki.issueLeaf({ email: 'release@example.com' });
      fs.writeFileSync(path.join(dir, 'ca.pem'), pki.caPem);
      fs.writeFileSync(path.join(dir, 'leaf.der'), leaf.der);
      execFileSync('openssl', ['x509', '-inform', 'DER', '-in', path.join(dir, 'leaf.der'), '-out', path.join(dir, 'leaf.pem')]);
      const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.pem'), '-purpose', 'any', path.join(dir, 'leaf.pem')]).toString();
      expect(out).toMatch(/leaf\.pem: OK/);
      const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'leaf.pem'), '-noout', '-text']).toString();
      expect(text).toMatch(/email:release@example.com/);
      expect(text).toMatch(/CT Precertificate SCTs|1\.3\.6\.1\.4\.1\.11129\.2\.4\.2/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts a keyless bundle of the file: chain, SCT, Rekor entry (promise and proof), identity and issuer', () => {
    expect(check(verifier, pki.keylessBundle(file), file)).toEqual({ kind: 'certificate', identity: 'release@example.com', issuer: ISSUER });
    // The v2 issuer extension (a DER string) and a URI identity matched by a pattern.
    const byPattern = new SigstoreBundleVerifier({ ...policy, identity: undefined, identityRegexp: /^https:\/\/ci\.example\.com\/release\// }, undefined);
    const uri = 'https://ci.example.com/release/workflow.yml@refs/tags/v1';
    expect(check(byPattern, pki.keylessBundle(file, { uri, issuerExtension: 'v2' }), file)).toMatchObject({ identity: uri, issuer: ISSUER });
  });

  it('refuses a bundle for other bytes, before asking anything else', () => {
    expect(refusal(() => check(verifier, pki.keylessBundle(Buffer.from('other bytes')), file))).toMatch(/signs other bytes .* not the upload's/);
  });

  it('refuses a signature that does not verify over the streamed bytes, even when the log entry agrees with it', () => {
    const forged = pki.keylessBundle(file, { signedBytes: Buffer.from('not the file') });
    expect(refusal(() => check(verifier, forged, file))).toMatch(/does not verify \(SIGNATURE_ERROR\)/);
  });

  it('refuses a tampered signature (the log entry no longer matches it)', () => {
    const bundle = pki.keylessBundle(file) as { messageSignature: { signature: string } };
    const sig = Buffer.from(bundle.messageSignature.signature, 'base64');
    sig[sig.length - 1] ^= 1;
    bundle.messageSignature.signature = sig.toString('base64');
    expect(refusal(() => check(verifier, bundle, file))).toMatch(/does not verify \(TLOG_BODY_ERROR\)/);
  });

  it('refuses a signer, issuer or CA other than the configured ones', () => {
    expect(refusal(() => check(verifier, pki.keylessBundle(file, { email: 'mallory@example.com' }), file))).toMatch(
      /signer is not the one expected: .*mallory@example.com/,
    );
    // The exact identity is no pattern: a dot matches a dot only.
    expect(refusal(() => check(verifier, pki.keylessBundle(file, { email: 'release@exampleXcom' }), file))).toMatch(/signer is not the one expected/);
    expect(refusal(() => check(verifier, pki.keylessBundle(file, { issuer: 'https://other-issuer.example.com' }), file))).toMatch(
      /signer is not the one expected: .*issuer/,
    );
    const stranger = new SigstoreTestPki();
    expect(refusal(() => check(verifier, stranger.keylessBundle(file), file))).toMatch(/does not verify \(CERTIFICATE_ERROR\)/);
  });

  it('counts SCTs and log entries against the thresholds; 0 lets a private deployment without them through', () => {
    expect(refusal(() => check(verifier, pki.keylessBundle(file, { noSct: true }), file))).toMatch(/expected 1 SCTs, got 0/);
    const noLogEntry = pki.keylessBundle(file) as { verificationMaterial: { tlogEntries: unknown[] } };
    noLogEntry.verificationMaterial.tlogEntries = [];
    // Without a log entry (nor a timestamp) a certificate has no verified time to be checked at.
    expect(refusal(() => check(verifier, noLogEntry, file))).toMatch(/no verified time/);
    // An entry with an inclusion proof but no promise carries an integrated time nobody signed.
    const proofOnly = pki.keylessBundle(file) as { verificationMaterial: { tlogEntries: Record<string, unknown>[] } };
    delete proofOnly.verificationMaterial.tlogEntries[0].inclusionPromise;
    const noTimestampNeeded = new SigstoreBundleVerifier({ ...policy, timestampThreshold: 0 }, undefined);
    expect(refusal(() => check(noTimestampNeeded, proofOnly, file))).toMatch(/no verified time/);
    const lenient = new SigstoreBundleVerifier({ ...policy, ctlogThreshold: 0 }, undefined);
    expect(check(lenient, pki.keylessBundle(file, { noSct: true }), file)).toMatchObject({ identity: 'release@example.com' });
    const twoEntries = new SigstoreBundleVerifier({ ...policy, tlogThreshold: 2 }, undefined);
    expect(refusal(() => check(twoEntries, pki.keylessBundle(file), file))).toMatch(/expected 2 tlog entries, got 1/);
  });

  it('refuses a log entry whose inclusion promise is not the log key’s', () => {
    const bundle = pki.keylessBundle(file) as { verificationMaterial: { tlogEntries: { inclusionPromise: { signedEntryTimestamp: string } }[] } };
    const other = new SigstoreTestPki().keylessBundle(file) as typeof bundle;
    bundle.verificationMaterial.tlogEntries[0].inclusionPromise = other.verificationMaterial.tlogEntries[0].inclusionPromise;
    expect(refusal(() => check(verifier, bundle, file))).toMatch(/does not verify \(TLOG_INCLUSION_PROMISE_ERROR\)/);
  });

  it('counts one log entry given twice once, and binds a checkpoint to its entry’s log', () => {
    // An entry with an inclusion proof only gives no timestamp, so nothing else would tell the copies apart.
    const twice = pki.keyedBundle(file, signing.privateKey, signing.publicKey) as { verificationMaterial: { tlogEntries: Record<string, unknown>[] } };
    delete twice.verificationMaterial.tlogEntries[0].inclusionPromise;
    const two = new SigstoreBundleVerifier({ ...policy, tlogThreshold: 2, timestampThreshold: 0 }, signing.publicKey);
    expect(refusal(() => check(two, twice, file))).toMatch(/expected 2 tlog entries, got 1/);
    twice.verificationMaterial.tlogEntries.push(twice.verificationMaterial.tlogEntries[0]);
    expect(refusal(() => check(two, twice, file))).toMatch(/same transparency log entry twice/);
    // Both logs are trusted, but the entry's inclusion proof must be under its own log's checkpoint.
    const twoLogs = new SigstoreBundleVerifier({ ...policy, trustedRootJson: pki.trustedRoot({ twoLogs: true }) }, undefined);
    expect(check(twoLogs, pki.keylessBundle(file), file)).toMatchObject({ identity: 'release@example.com' });
    expect(refusal(() => check(twoLogs, pki.keylessBundle(file, { checkpointByOtherLog: true }), file))).toMatch(/TLOG_INCLUSION_PROOF_ERROR/);
  });

  it('checks a keyed bundle against the package signing key, and refuses one of another key', () => {
    expect(check(verifier, pki.keyedBundle(file, signing.privateKey, signing.publicKey), file)).toEqual({ kind: 'public-key' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(refusal(() => check(verifier, pki.keyedBundle(file, other.privateKey, other.publicKey), file))).toMatch(/does not verify \(SIGNATURE_ERROR\)/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const withRsa = new SigstoreBundleVerifier({ ...policy, tlogThreshold: 0, timestampThreshold: 0 }, rsa.publicKey);
    expect(check(withRsa, pki.keyedBundle(file, rsa.privateKey, rsa.publicKey, { withoutLogEntry: true }), file)).toEqual({ kind: 'public-key' });
  });

  it('says what is missing when the server is not set up for a bundle', () => {
    const unconfigured = new SigstoreBundleVerifier({ tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 }, undefined);
    expect(refusal(() => unconfigured.start(bundleParam(pki.keylessBundle(file))))).toMatch(/Sigstore verification is not configured/);
    expect(refusal(() => unconfigured.start(bundleParam(pki.keyedBundle(file, signing.privateKey, signing.publicKey))))).toMatch(
      /no package signing key is configured/,
    );
    const ed = generateKeyPairSync('ed25519');
    const withEd = new SigstoreBundleVerifier(policy, ed.publicKey);
    expect(refusal(() => withEd.start(bundleParam(pki.keyedBundle(file, signing.privateKey, signing.publicKey))))).toMatch(/EdDSA key/);
  });

  it('refuses what is not a bundle, naming why', () => {
    expect(refusal(() => verifier.start('!!'))).toMatch(/base64/);
    expect(refusal(() => verifier.start(Buffer.from('{"mediaType": ').toString('base64')))).toMatch(/not a Sigstore bundle/);
    expect(refusal(() => verifier.start(Buffer.from('not json').toString('base64')))).toMatch(/not JSON/);
    expect(refusal(() => verifier.start(bundleParam({ mediaType: 'application/json' })))).toMatch(/mediaType must be one of/);
    expect(refusal(() => verifier.start(bundleParam({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })))).toMatch(
      /not a Sigstore bundle: invalid bundle/,
    );
    const dsse = pki.keylessBundle(file) as Record<string, unknown>;
    delete dsse.messageSignature;
    dsse.dsseEnvelope = { payload: 'e30=', payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'AA==', keyid: '' }] };
    expect(refusal(() => verifier.start(bundleParam(dsse)))).toMatch(/DSSE envelope/);
    const badCert = pki.keylessBundle(file) as { verificationMaterial: { certificate: { rawBytes: string } } };
    badCert.verificationMaterial.certificate.rawBytes = Buffer.from('not DER').toString('base64');
    expect(refusal(() => verifier.start(bundleParam(badCert)))).toMatch(/not a Sigstore bundle/);
  });

  it('answers every mangled field of a good bundle with a refusal, never another error', () => {
    const good = pki.keylessBundle(file);
    const leaves: (string | number)[][] = [];
    const walk = (v: unknown, at: (string | number)[]) => {
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, Array.isArray(v) ? Number(k) : k]);
      else leaves.push(at);
    };
    walk(good, []);
    expect(leaves.length).toBeGreaterThan(15);
    const outcomes = new Set<string>();
    let refused = 0;
    for (const at of leaves) {
      for (const replacement of ['', 'AAAA', 'not base64!', 12, null, { a: 1 }, ['x']]) {
        const mangled = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
        let node: Record<string | number, unknown> = mangled;
        for (const k of at.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
        node[at[at.length - 1]] = replacement;
        try {
          check(verifier, mangled, file);
          outcomes.add(at.join('.'));
        } catch (err) {
          if (!(err instanceof SignatureRefused)) throw new Error(`${at.join('.')} = ${JSON.stringify(replacement)}: ${(err as Error).stack}`);
          refused += 1;
        }
      }
    }
    // What may change and still verify: a missing digest algorithm is SHA-256's default; a log index
    // left out is 0 (this entry's); a proof's own root hash and tree size are not what is checked, the
    // checkpoint the log signed is. Everything else is refused.
    expect(
      [...outcomes].filter(
        (at) =>
          ![
            'messageSignature.messageDigest.algorithm',
            'verificationMaterial.tlogEntries.0.logIndex',
            'verificationMaterial.tlogEntries.0.inclusionProof.logIndex',
            'verificationMaterial.tlogEntries.0.inclusionProof.rootHash',
            'verificationMaterial.tlogEntries.0.inclusionProof.treeSize',
          ].includes(at),
      ),
    ).toEqual([]);
    expect(refused).toBeGreaterThan(leaves.length * 5);
  });

  it('says why a trusted root is not usable', () => {
    expect(() => new SigstoreBundleVerifier({ ...policy, trustedRootJson: 'not json' }, undefined)).toThrow(/not a TrustedRoot JSON/);
  });
});
