import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { eventually, getAgent } from './support/agents-api';
import { GoAgent, GoAgentEvent, goAgentBinary } from './support/go-agent';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { PACKAGE_CAPS, sha256Hex as sha } from './support/package-fixtures';
import { Json, restClient } from './support/rest-client';
import { bundleParam, ISSUER, SigstoreTestPki } from './support/sigstore-fixtures';
import { startTestServer, TestServer } from './support/test-server';

/**
 * Sigstore bundles on package uploads (issue 21), verified offline against a private Sigstore the
 * test makes (a Fulcio-like CA, a Rekor-like log, a CT log: test/support/sigstore-fixtures.ts),
 * with the thresholds of Sigstore's public instance (1 log entry, 1 SCT, 1 timestamp): a good
 * keyless bundle is stored and its JSON reaches a real opamp-go agent as the offered signature;
 * every bad one is refused with 400 naming why, and nothing of it is stored.
 */

beforeAll(() => {
  goAgentBinary();
}, 600_000);

describe('Sigstore bundles of uploaded package files', () => {
  let server: TestServer;
  let api: ReturnType<typeof restClient>;
  let dir: string;
  let token: string;
  const pki = new SigstoreTestPki();
  const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const agents: GoAgent[] = [];
  const file = randomBytes(700_000);

  const counts = async () => {
    const db = server.app.get<Connection>(getConnectionToken()).db!;
    return { chunks: await db.collection('package_files.chunks').countDocuments(), files: await db.collection('package_files.files').countDocuments() };
  };
  const upload = async (id: string, name: string, body: Buffer, query: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/packages/${encodeURIComponent(id)}/files/${name}?${new URLSearchParams(query)}`, {
      method: 'PUT',
      headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
      body,
    });
    return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Json };
  };
  /** Signs as a release script would: `openssl dgst -sha256 -sign key.pem file`. */
  const opensslSign = (key: KeyObject, bytes: Buffer): Buffer => {
    const keyFile = path.join(dir, `key-${randomBytes(4).toString('hex')}.pem`);
    const dataFile = `${keyFile}.data`;
    fs.writeFileSync(keyFile, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(dataFile, bytes);
    return execFileSync('openssl', ['dgst', '-sha256', '-sign', keyFile, dataFile]);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-sigstore-'));
    fs.writeFileSync(path.join(dir, 'trusted_root.json'), pki.trustedRoot());
    fs.writeFileSync(path.join(dir, 'signing.pub.pem'), signing.publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startTestServer({
      OPAMP_AGENT_AUTH: 'token',
      OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1',
      DATA_DIR: dir,
      PACKAGE_SIGNING_PUBLIC_KEY_FILE: path.join(dir, 'signing.pub.pem'),
      PACKAGE_SIGSTORE_TRUSTED_ROOT_FILE: path.join(dir, 'trusted_root.json'),
      PACKAGE_SIGSTORE_IDENTITY: 'release@example.com',
      PACKAGE_SIGSTORE_OIDC_ISSUER: ISSUER,
    });
    api = restClient(server);
    const created = await api('POST', '/enrollment-tokens', { kind: 'EnrollmentToken', apiVersion: 'v1', spec: { description: 'edge agents' } });
    expect(created.status).toBe(201);
    token = created.body.token;
  }, 60_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores a file with a good keyless bundle, shows its signer, and offers the bundle JSON to a real opamp-go agent, which installs the file', async () => {
    const bundle = pki.keylessBundle(file, { sign: opensslSign });
    const up = await upload('otelcol@1.0.0', 'otelcol.bin', file, { sha256: sha(file), sigstoreBundle: bundleParam(bundle) });
    expect(up.status).toBe(200);
    expect(up.body.spec.files[0]).toMatchObject({ name: 'otelcol.bin', sha256: sha(file), sigstoreBundle: bundleParam(bundle) });
    expect(up.body.spec.files[0].signature).toBeUndefined();
    expect(up.body.status.files[0]).toMatchObject({
      stored: true,
      signed: true,
      signatureVerified: true,
      signer: { kind: 'certificate', identity: 'release@example.com', issuer: ISSUER },
    });

    const group = await api('POST', '/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'edge' },
      spec: { selector: 'tier=edge', packages: [{ name: 'otelcol', version: '1.0.0' }] },
    });
    expect(group.status).toBe(201);
    const agent = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
      '--heartbeat',
      '1',
      '--capabilities',
      PACKAGE_CAPS,
      '--attr',
      'tier=edge',
      '--header',
      `Authorization: Bearer ${token}`,
    ]);
    agents.push(agent);
    const uid = (await agent.event('started')).uid as string;
    const offered = (await agent.event('packages_available', 30_000)) as GoAgentEvent & { packages: Json };
    expect(offered.packages.otelcol).toMatchObject({ version: '1.0.0', contentHash: sha(file) });
    // The offered signature is the bundle's JSON, byte for byte as uploaded.
    const received = Buffer.from(offered.packages.otelcol.signature as string, 'base64').toString('utf8');
    expect(received).toBe(JSON.stringify(bundle));
    expect(JSON.parse(received).messageSignature.messageDigest.digest).toBe(Buffer.from(sha(file), 'hex').toString('base64'));
    await eventually(
      () => getAgent(server, uid),
      (r) => (r.body.status.packages?.installed ?? []).some((p: Json) => p.name === 'otelcol' && p.status === 'INSTALLED'),
      30_000,
    );
  }, 90_000);

  it('takes a bundle as large as a public-instance one of a CI identity (15 KiB of base64 and more) in the query', async () => {
    const param = bundleParam(pki.keylessBundle(file, { ciSized: true }));
    expect(param.length).toBeGreaterThan(15_000);
    // Standard base64, percent-encoded in the query (+, / and = take three characters each).
    const up = await upload('ci-built@3.0.0', 'agent.bin', file, { sigstoreBundle: param });
    expect(up.status).toBe(200);
    expect(up.body.status.files[0]).toMatchObject({ signatureVerified: true, signer: { identity: 'release@example.com' } });
  });

  it('stores a file with a keyed bundle checked against the package signing key', async () => {
    const up = await upload('keyed@1.0.0', 'keyed.bin', file, { sigstoreBundle: bundleParam(pki.keyedBundle(file, signing.privateKey, signing.publicKey)) });
    expect(up.status).toBe(200);
    expect(up.body.status.files[0]).toMatchObject({ signed: true, signatureVerified: true, signer: { kind: 'public-key' } });
  });

  it('uploads with opampctl --sigstore-bundle; a bundle for other bytes is a clear error', async () => {
    buildOpampctl();
    const env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: dir };
    const local = path.join(dir, 'agent.tar.gz');
    const bytes = randomBytes(120_000);
    fs.writeFileSync(local, bytes);
    fs.writeFileSync(path.join(dir, 'agent.sigstore.json'), JSON.stringify(pki.keylessBundle(bytes), null, 2));
    fs.writeFileSync(path.join(dir, 'other.sigstore.json'), JSON.stringify(pki.keylessBundle(randomBytes(10))));
    const up = await runOpampctl(['upload', 'package', 'agent', '2.0.0', local, '--sigstore-bundle', path.join(dir, 'agent.sigstore.json'), '-o', 'json'], {
      env,
    });
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).status.files[0]).toMatchObject({ signatureVerified: true, signer: { identity: 'release@example.com' } });
    const described = await runOpampctl(['describe', 'package', 'agent@2.0.0'], { env });
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/Sigstore Bundle: +<Sigstore bundle, \d+ bytes of JSON; -o json shows it>/);
    expect(described.stdout).toMatch(/Identity: +release@example\.com/);
    const refused = await runOpampctl(['upload', 'package', 'agent', '2.0.1', local, '--sigstore-bundle', path.join(dir, 'other.sigstore.json')], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/signs other bytes/);
    expect((await api('GET', '/packages/agent@2.0.1')).status).toBe(404);
  });

  it('refuses, with 400 naming why and nothing stored: other bytes, another signer, a tampered signature, another key, not a bundle', async () => {
    const before = await counts();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const tampered = pki.keylessBundle(file) as { messageSignature: { signature: string } };
    const sig = Buffer.from(tampered.messageSignature.signature, 'base64');
    sig[10] ^= 0xff;
    tampered.messageSignature.signature = sig.toString('base64');
    const cases: [string, Record<string, string>, RegExp][] = [
      ['a bundle of other bytes', { sigstoreBundle: bundleParam(pki.keylessBundle(randomBytes(1000))) }, /signs other bytes/],
      ['another signer', { sigstoreBundle: bundleParam(pki.keylessBundle(file, { email: 'mallory@example.com' })) }, /signer is not the one expected/],
      [
        'another OIDC issuer',
        { sigstoreBundle: bundleParam(pki.keylessBundle(file, { issuer: 'https://elsewhere.example.com' })) },
        /signer is not the one expected/,
      ],
      ['a CA not in the trusted root', { sigstoreBundle: bundleParam(new SigstoreTestPki().keylessBundle(file)) }, /does not verify \(CERTIFICATE_ERROR\)/],
      ['a tampered signature', { sigstoreBundle: bundleParam(tampered) }, /does not verify/],
      ['a signature over other bytes', { sigstoreBundle: bundleParam(pki.keylessBundle(file, { signedBytes: randomBytes(10) })) }, /SIGNATURE_ERROR/],
      ['no SCT', { sigstoreBundle: bundleParam(pki.keylessBundle(file, { noSct: true })) }, /expected 1 SCTs, got 0/],
      ['a keyed bundle of another key', { sigstoreBundle: bundleParam(pki.keyedBundle(file, other.privateKey, other.publicKey)) }, /SIGNATURE_ERROR/],
      [
        'malformed JSON',
        { sigstoreBundle: Buffer.from('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",').toString('base64') },
        /not a Sigstore bundle/,
      ],
      ['not base64', { sigstoreBundle: '{"not":"base64"}' }, /base64/],
      ['a signature and a bundle', { signature: 'AAAA', sigstoreBundle: bundleParam(pki.keylessBundle(file)) }, /not both/],
    ];
    for (const [what, query, why] of cases) {
      const res = await upload('refused@1.0.0', 'refused.bin', file, query);
      expect({ what, status: res.status, type: res.type }).toEqual({ what, status: 400, type: expect.stringContaining('application/problem+json') });
      expect({ what, detail: res.body.detail }).toEqual({ what, detail: expect.stringMatching(why) });
      expect(res.body.errors?.[0]?.field).toMatch(/^(sigstoreBundle|signature)$/);
    }
    expect(await counts()).toEqual(before);
    expect((await api('GET', '/packages/refused@1.0.0')).status).toBe(404);
  });
});
