import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { register } from 'prom-client';
import { PackageCatalogue } from '../src/packages/package-catalogue';
import { eventually } from './support/agents-api';
import { CuttableLink } from './support/cuttable-link';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { restClient } from './support/rest-client';
import { bundleParam, SigstoreTestPki } from './support/sigstore-fixtures';
import { startTestServer, testDatabaseUri, TestServer } from './support/test-server';

/** One HTTP request with a binary body (sent in pieces, chunked unless `length` is given); the answer's bytes. */
function send(
  port: number,
  method: string,
  urlPath: string,
  opts: { headers?: Record<string, string>; body?: Buffer; chunked?: boolean } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body && !opts.chunked) headers['content-length'] = String(opts.body.length);
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    let answered = false;
    req.on('response', () => (answered = true));
    // The server may answer (413) and close before the whole body is sent: the answer is what counts.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const body = opts.body ?? Buffer.alloc(0);
    const piece = 64 * 1024;
    let at = 0;
    const pump = () => {
      while (at < body.length) {
        const ok = req.write(body.subarray(at, at + piece));
        at += piece;
        if (!ok) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const json = (b: Buffer) => JSON.parse(b.toString('utf8'));

describe('package catalogue and downloads (issue 21)', () => {
  let server: TestServer;
  let admin: ReturnType<typeof restClient>;
  let agentToken: string;
  let dataDir: string;
  let signingKey: ReturnType<typeof generateKeyPairSync>['privateKey'];
  const MAX = 3 * 1024 * 1024;
  const file = randomBytes(2 * 1024 * 1024 + 12345);

  const chunkCount = () => server.app.get<Connection>(getConnectionToken()).db!.collection('package_files.chunks').countDocuments();
  const fileCount = () => server.app.get<Connection>(getConnectionToken()).db!.collection('package_files.files').countDocuments();
  const upload = (id: string, name: string, body: Buffer, query: Record<string, string> = {}, chunked = false) =>
    send(server.apiPort, 'PUT', `/api/v1/packages/${encodeURIComponent(id)}/files/${encodeURIComponent(name)}?${new URLSearchParams(query)}`, {
      headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
      body,
      chunked,
    });
  const download = (urlPath: string, headers: Record<string, string> = {}, method = 'GET') =>
    send(server.opampPort, method, urlPath, { headers: { authorization: `Bearer ${agentToken}`, ...headers } });

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-e2e-'));
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    signingKey = pair.privateKey;
    const keyFile = path.join(dataDir, 'signing.pub.pem');
    fs.writeFileSync(keyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startTestServer({
      OPAMP_AGENT_AUTH: 'token',
      DATA_DIR: dataDir,
      PACKAGE_MAX_FILE_BYTES: String(MAX),
      PACKAGE_SIGNING_PUBLIC_KEY_FILE: keyFile,
    });
    admin = restClient(server);
    const created = await admin('POST', '/enrollment-tokens', { spec: { description: 'package downloads' } });
    expect(created.status).toBe(201);
    agentToken = created.body.token;
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores an uploaded file, lists and shows the version, and serves the file to an authenticated agent: whole, HEAD, resumed after a cut, 416', async () => {
    const signature = sign('sha256', file, signingKey).toString('base64');
    const up = await upload('otelcol@1.2.0', 'otelcol_linux_amd64.tar.gz', file, { platform: 'linux/amd64', sha256: sha(file), signature });
    expect(up.status).toBe(200);
    const resource = json(up.bytes);
    expect(resource).toMatchObject({
      kind: 'AgentPackage',
      metadata: { name: 'otelcol@1.2.0', resourceVersion: '1' },
      spec: {
        package: 'otelcol',
        version: '1.2.0',
        type: 'top-level',
        files: [{ name: 'otelcol_linux_amd64.tar.gz', platform: 'linux/amd64', sha256: sha(file), size: file.length, signature }],
      },
      status: {
        fileCount: 1,
        files: [{ stored: true, signed: true, signatureVerified: true, downloadPath: '/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz' }],
      },
    });

    const list = await admin('GET', '/packages');
    expect(list.status).toBe(200);
    expect(list.body.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['otelcol@1.2.0']);
    expect((await admin('GET', '/packages/otelcol@1.2.0')).body.spec.files[0].sha256).toBe(sha(file));

    const where = resource.status.files[0].downloadPath as string;
    const whole = await download(where);
    expect(whole.status).toBe(200);
    expect(whole.headers).toMatchObject({ etag: `"${sha(file)}"`, 'accept-ranges': 'bytes', 'content-length': String(file.length) });
    expect(sha(whole.bytes)).toBe(sha(file));

    const head = await download(where, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(file.length));
    expect(head.bytes.length).toBe(0);

    // An agent whose download is cut off part-way asks for the rest with Range.
    const firstPart = await new Promise<Buffer>((resolve, reject) => {
      const got: Buffer[] = [];
      let n = 0;
      const req = http.get({ host: '127.0.0.1', port: server.opampPort, path: where, headers: { authorization: `Bearer ${agentToken}` } }, (res) => {
        res.on('data', (c: Buffer) => {
          got.push(c);
          n += c.length;
          if (n >= 700_000) {
            req.destroy();
            resolve(Buffer.concat(got));
          }
        });
      });
      req.on('error', (e) => (n >= 700_000 ? undefined : reject(e)));
    });
    const rest = await download(where, { range: `bytes=${firstPart.length}-`, 'if-range': `"${sha(file)}"` });
    expect(rest.status).toBe(206);
    expect(rest.headers['content-range']).toBe(`bytes ${firstPart.length}-${file.length - 1}/${file.length}`);
    expect(sha(Buffer.concat([firstPart, rest.bytes]))).toBe(sha(file));

    const middle = await download(where, { range: 'bytes=100-199' });
    expect(middle.status).toBe(206);
    expect(middle.bytes.equals(file.subarray(100, 200))).toBe(true);

    const beyond = await download(where, { range: `bytes=${file.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${file.length}`);

    expect((await download(where, { 'if-none-match': `"${sha(file)}"` })).status).toBe(304);
  });

  it('gives the offers side the file of an agent platform through the catalogue port', async () => {
    const catalogue = server.app.get(PackageCatalogue);
    expect(await catalogue.find('otelcol', '1.2.0')).toEqual({ name: 'otelcol', version: '1.2.0', type: 'top-level', fileHashes: [sha(file)] });
    const offer = await catalogue.fileFor('otelcol', '1.2.0', { os: 'linux', arch: 'amd64' }, 'https://opamp.example.com:4320/');
    expect(offer).toMatchObject({ downloadUrl: 'https://opamp.example.com:4320/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz', size: file.length });
    expect(Buffer.from(offer!.contentHash).toString('hex')).toBe(sha(file));
    expect(await catalogue.fileFor('otelcol', '1.2.0', { os: 'windows', arch: 'amd64' }, 'https://x')).toBeUndefined();
  });

  it('refuses a download without a valid enrollment token, and names what is missing', async () => {
    const where = '/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz';
    const none = await send(server.opampPort, 'GET', where);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.bytes.length).toBeLessThan(1000);
    expect((await download(where, { authorization: 'Bearer not-a-token' })).status).toBe(401);
    expect((await download('/v1/packages/otelcol/1.2.0/nope.tar.gz')).status).toBe(404);
    expect((await download('/v1/packages/otelcol/9.9.9/otelcol_linux_amd64.tar.gz')).status).toBe(404);
  });

  it('reads the file from its local copy once for many agents downloading it at once, each getting every byte', async () => {
    const where = '/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz';
    const blockReads = async () => (await register.getSingleMetric('opamp_package_block_reads_total')?.get())?.values[0]?.value ?? 0;
    const before = await blockReads();
    expect(before).toBeGreaterThan(0); // the downloads above read its blocks
    const answers = await Promise.all(Array.from({ length: 20 }, () => download(where)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(sha(a.bytes)).toBe(sha(file));
    }
    // 256 KiB blocks: at most one read of each, not one per agent (20 × 9 with a stream per download).
    expect((await blockReads()) - before).toBeLessThanOrEqual(Math.ceil(file.length / (256 * 1024)));
  });

  it('refuses the next download of a revoked enrollment token at once, though its check was just remembered', async () => {
    const where = '/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz';
    const created = await admin('POST', '/enrollment-tokens', { spec: { description: 'revoked while downloading' } });
    const token = created.body.token as string;
    const withToken = (headers: Record<string, string> = {}) => download(where, { authorization: `Bearer ${token}`, ...headers });
    const served = await withToken({ range: 'bytes=0-99' });
    expect(served.status).toBe(206);
    expect(served.bytes.equals(file.subarray(0, 100))).toBe(true);

    expect((await admin('DELETE', `/enrollment-tokens/${created.body.metadata.name}`)).body.status.state).toBe('revoked');
    const refused = await withToken({ range: 'bytes=100-199' });
    expect(refused.status).toBe(401);
    expect(json(refused.bytes).detail).toBe('The enrollment token has been revoked.');
    expect((await download(where, { range: 'bytes=100-199' })).status).toBe(206); // another token still downloads
  });

  it('refuses an upload over the limit with 413 and keeps no chunk of it, whether its length was declared or not', async () => {
    const before = { chunks: await chunkCount(), files: await fileCount() };
    const big = randomBytes(MAX + 1);
    const streamed = await upload('big@1.0.0', 'big.bin', big, {}, true);
    expect(streamed.status).toBe(413);
    expect(json(streamed.bytes).detail).toMatch(/at most 3145728 bytes/);
    const declared = await upload('big@1.0.0', 'big.bin', big);
    expect(declared.status).toBe(413);
    expect({ chunks: await chunkCount(), files: await fileCount() }).toEqual(before);
    expect((await admin('GET', '/packages/big@1.0.0')).status).toBe(404);
  });

  it('refuses a wrong hash, a broken signature, a Sigstore bundle it cannot verify and bad file names with 400, storing nothing', async () => {
    const before = { chunks: await chunkCount(), files: await fileCount() };
    const small = randomBytes(300_000);
    const wrongHash = await upload('bad@1.0.0', 'bad.bin', small, { sha256: sha(Buffer.from('other')) });
    expect(wrongHash.status).toBe(400);
    expect(json(wrongHash.bytes).detail).toMatch(/not the declared/);

    const brokenSignature = sign('sha256', Buffer.from('something else'), signingKey).toString('base64');
    const broken = await upload('bad@1.0.0', 'bad.bin', small, { signature: brokenSignature });
    expect(broken.status).toBe(400);
    expect(json(broken.bytes).detail).toMatch(/signature does not verify/);

    const bundle = Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {} })).toString('base64');
    const sigstore = await upload('bad@1.0.0', 'bad.bin', small, { signature: bundle });
    expect(sigstore.status).toBe(400);
    expect(json(sigstore.bytes).detail).toMatch(/Sigstore bundle; upload it as sigstoreBundle/);
    // This server has a signing key but no Sigstore trusted root: a keyless bundle cannot be verified here.
    const keyless = await upload('bad@1.0.0', 'bad.bin', small, { sigstoreBundle: bundleParam(new SigstoreTestPki().keylessBundle(small)) });
    expect(keyless.status).toBe(400);
    expect(json(keyless.bytes)).toMatchObject({
      detail: expect.stringMatching(/Sigstore verification is not configured/),
      errors: [{ field: 'sigstoreBundle' }],
    });

    for (const name of ['../x', '/abs', 'a\\b', 'nul\0byte', '..', '.hidden']) {
      const bad = await upload('bad@1.0.0', name, small);
      expect({ name, status: bad.status }).toEqual({ name, status: 400 });
      expect(json(bad.bytes).errors[0].field).toBe('file');
    }
    expect({ chunks: await chunkCount(), files: await fileCount() }).toEqual(before);
    expect((await admin('GET', '/packages/bad@1.0.0')).status).toBe(404);
  });

  it('keeps a version immutable: the same file or platform again, or another type, is 409', async () => {
    const small = randomBytes(1000);
    expect((await upload('agent@2.0.0', 'agent-linux', small, { platform: 'linux' })).status).toBe(200);
    expect((await upload('agent@2.0.0', 'agent-linux', randomBytes(1000), { platform: 'linux/arm64' })).status).toBe(409);
    expect((await upload('agent@2.0.0', 'agent-linux-2', randomBytes(1000), { platform: 'linux' })).status).toBe(409);
    expect((await upload('agent@2.0.0', 'agent-darwin', randomBytes(1000), { platform: 'darwin', type: 'addon' })).status).toBe(409);
    // A platform the version has no file for yet is added; what it said of the linux file stays.
    const added = await upload('agent@2.0.0', 'agent-darwin', small, { platform: 'darwin' });
    expect(added.status).toBe(200);
    expect(json(added.bytes).spec.files.map((f: { name: string }) => f.name)).toEqual(['agent-linux', 'agent-darwin']);
    const again = await admin('POST', '/packages', { kind: 'AgentPackage', apiVersion: 'v1', metadata: { name: 'agent@2.0.0' }, spec: { type: 'addon' } });
    expect(again.status).toBe(409);
  });

  it('catalogues files at external https URLs from a manifest, and refuses other schemes', async () => {
    const hash = sha(Buffer.from('external'));
    const created = await admin('POST', '/packages', {
      kind: 'AgentPackage',
      apiVersion: 'v1',
      metadata: { name: 'ext-addon@0.3.1' },
      spec: { type: 'addon', files: [{ name: 'addon.zip', url: 'https://downloads.example.com/addon.zip', sha256: hash, size: 8 }] },
    });
    expect(created.status).toBe(201);
    expect(created.body.spec).toMatchObject({ type: 'addon', files: [{ url: 'https://downloads.example.com/addon.zip', sha256: hash }] });
    expect((await server.app.get(PackageCatalogue).fileFor('ext-addon', '0.3.1', { os: 'linux' }, 'http://x'))?.downloadUrl).toBe(
      'https://downloads.example.com/addon.zip',
    );
    const plain = await admin('POST', '/packages', {
      metadata: { name: 'ext-addon@0.3.2' },
      spec: { files: [{ name: 'a.zip', url: 'http://downloads.example.com/a.zip', sha256: hash }] },
    });
    expect(plain.status).toBe(400);
    expect(plain.body.errors[0].field).toBe('spec.files.0.url');
    expect((await admin('POST', '/packages', { metadata: { name: 'no-version' } })).status).toBe(400);
  });

  it('pages the list with a continue token and lists one package with package=', async () => {
    for (const v of ['0.9.0', '1.10.0']) expect((await admin('POST', '/packages', { metadata: { name: `otelcol@${v}` } })).status).toBe(201);
    const first = await admin('GET', '/packages?limit=2');
    expect(first.body.metadata.remainingItemCount).toBeGreaterThan(0);
    const next = await admin('GET', `/packages?limit=100&continue=${first.body.metadata.continue}`);
    const names = [...first.body.items, ...next.body.items].map((p: { metadata: { name: string } }) => p.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    expect((await admin('GET', '/packages?package=otelcol')).body.items.map((p: { spec: { version: string } }) => p.spec.version).sort()).toEqual([
      '0.9.0',
      '1.10.0',
      '1.2.0',
    ]);
    expect((await server.app.get(PackageCatalogue).versions('otelcol')).map((p) => p.version)).toEqual(['1.10.0', '1.2.0', '0.9.0']);
  });

  it('deletes a version: no longer listed, downloadable or offered, its bytes removed, its name never reused; audited', async () => {
    const where = '/v1/packages/otelcol/1.2.0/otelcol_linux_amd64.tar.gz';
    const chunksBefore = await chunkCount();
    const deleted = await admin('DELETE', '/packages/otelcol@1.2.0');
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata.deletedAt).toBeDefined();
    expect((await download(where)).status).toBe(404);
    expect(await server.app.get(PackageCatalogue).find('otelcol', '1.2.0')).toBeUndefined();
    expect(await chunkCount()).toBeLessThan(chunksBefore);
    expect((await admin('GET', '/packages?package=otelcol')).body.items).toHaveLength(2);
    expect((await admin('GET', '/packages/otelcol@1.2.0?includeDeleted=true')).status).toBe(200);
    expect((await upload('otelcol@1.2.0', 'otelcol_linux_amd64.tar.gz', file)).status).toBe(409);

    const audit = await admin('GET', '/audit?kind=packages&limit=100');
    const entries = audit.body.items.map((e: { action: string; resource: { name?: string } }) => `${e.action} ${e.resource.name}`);
    expect(entries).toEqual(expect.arrayContaining(['files otelcol@1.2.0', 'create ext-addon@0.3.1', 'delete otelcol@1.2.0']));
    const del = audit.body.items.find((e: { action: string }) => e.action === 'delete');
    expect(del.changes).toContain('deletedAt');
  });

  it('uploads with opampctl, lists, describes and deletes packages with it; a refusal is a clear error', async () => {
    buildOpampctl();
    const env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: dataDir };
    const ctl = (...args: string[]) => runOpampctl(args, { env });
    const local = path.join(dataDir, 'collector_1.0.0_linux_arm64.tar.gz');
    const bytes = randomBytes(150_000);
    fs.writeFileSync(local, bytes);
    const up = await ctl('upload', 'package', 'collector', '1.0.0', local, '--platform', 'linux/arm64', '--type', 'addon');
    expect(up).toMatchObject({
      code: 0,
      stdout: `package/collector@1.0.0 collector_1.0.0_linux_arm64.tar.gz uploaded (150000 bytes, sha256 ${sha(bytes).slice(0, 12)}…, linux/arm64)\n`,
    });
    const got = await ctl('get', 'packages', 'collector@1.0.0');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(/^NAME\s+TYPE\s+FILES\s+PLATFORMS\s+AGE\ncollector@1\.0\.0\s+addon\s+1\s+linux\/arm64\s/);
    const described = await ctl('describe', 'package', 'collector@1.0.0');
    expect(described.code).toBe(0);
    expect(described.stdout).toContain(sha(bytes));
    const served = await download(`/v1/packages/collector/1.0.0/collector_1.0.0_linux_arm64.tar.gz`);
    expect(sha(served.bytes)).toBe(sha(bytes));

    const again = await ctl('upload', 'package', 'collector', '1.0.0', local, '--platform', 'linux/arm64');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already has a file collector_1\.0\.0_linux_arm64\.tar\.gz/);
    const traversal = await ctl('upload', 'package', 'collector', '1.0.1', local, '--as', '../evil');
    expect(traversal.code).toBe(1);
    expect(traversal.stderr).toMatch(/path separator/);

    expect(await ctl('delete', 'packages', 'collector@1.0.0')).toMatchObject({ code: 0, stdout: 'package/collector@1.0.0 deleted\n' });
    expect((await ctl('get', 'packages', 'collector@1.0.0')).code).toBe(1);
  });

  it('refuses listing and uploading to anyone not signed in (401)', async () => {
    expect((await restClient(server, { token: null })('GET', '/packages')).status).toBe(401);
    const anon = await send(server.apiPort, 'PUT', '/api/v1/packages/x@1.0.0/files/x.bin', {
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('x'),
    });
    expect(anon.status).toBe(401);
  });
});

describe('package downloads while the database is unreachable, and past the concurrency limit', () => {
  let link: CuttableLink;
  let server: TestServer;
  let dataDir: string;
  const file = randomBytes(400_000);
  const where = '/v1/packages/outage/1.0.0/outage.bin';
  const active = async () => (await register.getSingleMetric('opamp_package_downloads_active')?.get())?.values[0]?.value ?? 0;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-outage-'));
    const direct = new URL(testDatabaseUri());
    link = new CuttableLink({ host: direct.hostname, port: Number(direct.port) });
    await link.up();
    direct.host = `127.0.0.1:${link.port}`;
    server = await startTestServer(
      {
        DATA_DIR: dataDir,
        PACKAGE_MAX_CONCURRENT_DOWNLOADS: '1',
        PACKAGE_DOWNLOAD_QUEUE_LENGTH: '0',
        DATABASE_TIMEOUT_MS: '1000',
        DATABASE_OPERATION_TIMEOUT_MS: '2000',
      },
      direct.toString(),
    );
    const up = await send(server.apiPort, 'PUT', `/api/v1/packages/outage@1.0.0/files/outage.bin?sha256=${sha(file)}`, {
      headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
      body: file,
    });
    expect(up.status).toBe(200);
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await link?.down().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while the catalogue cannot be read, 503 to a download past the limit, and serves again once the database is back', async () => {
    await link.down();
    const first = send(server.opampPort, 'GET', where);
    // The first download holds the one slot while it waits for the database.
    await eventually(active, (n) => n === 1);
    const second = await send(server.opampPort, 'GET', where);
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBeDefined();
    expect(json(second.bytes).detail).toMatch(/Too many package downloads at once/);
    const during = await first;
    expect(during.status).toBe(503);
    expect(during.headers['retry-after']).toBeDefined();
    expect(json(during.bytes).detail).toMatch(/cannot be read now/);

    await link.up();
    const after = await eventually(
      () => send(server.opampPort, 'GET', where),
      (r) => r.status === 200,
    );
    expect(sha(after.bytes)).toBe(sha(file));
  });
});

describe('package downloads past the concurrency limit wait their turn in a bounded queue', () => {
  let link: CuttableLink;
  let server: TestServer;
  let dataDir: string;
  const file = randomBytes(300_000);
  const where = '/v1/packages/queued/1.0.0/queued.bin';
  const gauge = async (name: string) => (await register.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-queue-'));
    const direct = new URL(testDatabaseUri());
    link = new CuttableLink({ host: direct.hostname, port: Number(direct.port) });
    await link.up();
    direct.host = `127.0.0.1:${link.port}`;
    server = await startTestServer(
      {
        DATA_DIR: dataDir,
        PACKAGE_MAX_CONCURRENT_DOWNLOADS: '1',
        PACKAGE_DOWNLOAD_QUEUE_LENGTH: '1',
        DATABASE_TIMEOUT_MS: '20000',
        DATABASE_OPERATION_TIMEOUT_MS: '30000',
      },
      direct.toString(),
    );
    const up = await send(server.apiPort, 'PUT', `/api/v1/packages/queued@1.0.0/files/queued.bin?sha256=${sha(file)}`, {
      headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
      body: file,
    });
    expect(up.status).toBe(200);
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await link?.down().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('holds a download beyond the limit until the one ahead ends, then serves its bytes; past the queue bound answers 503 + Retry-After', async () => {
    // The first download holds the one place while it waits for the database; the second waits in the queue.
    await link.down();
    const first = send(server.opampPort, 'GET', where);
    await eventually(
      () => gauge('opamp_package_downloads_active'),
      (n) => n === 1,
    );
    const second = send(server.opampPort, 'GET', where, { headers: { range: 'bytes=1000-' } });
    await eventually(
      () => gauge('opamp_package_downloads_queued'),
      (n) => n === 1,
    );
    const third = await send(server.opampPort, 'GET', where);
    expect(third.status).toBe(503);
    expect(third.headers['retry-after']).toBeDefined();
    expect(json(third.bytes).detail).toMatch(/queue is full/);

    await link.up();
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(sha(a.bytes)).toBe(sha(file));
    expect(b.status).toBe(206);
    expect(sha(b.bytes)).toBe(sha(file.subarray(1000)));
    expect(await gauge('opamp_package_downloads_queued')).toBe(0);
  });
});

describe('the local package cache stays within PACKAGE_CACHE_MAX_BYTES', () => {
  let server: TestServer;
  let dataDir: string;
  const a = randomBytes(300_000);
  const b = randomBytes(300_000);
  const copy = (f: Buffer) => path.join(dataDir, 'package-cache', sha(f));

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-evict-'));
    server = await startTestServer({ DATA_DIR: dataDir, PACKAGE_CACHE_MAX_BYTES: '400000' });
    for (const [name, f] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const up = await send(server.apiPort, 'PUT', `/api/v1/packages/evict-${name}@1.0.0/files/${name}.bin?sha256=${sha(f)}`, {
        headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
        body: f,
      });
      expect(up.status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('evicts the least recently served copy when over the bound, and serves it again with the right bytes', async () => {
    const first = await send(server.opampPort, 'GET', '/v1/packages/evict-a/1.0.0/a.bin');
    expect(sha(first.bytes)).toBe(sha(a));
    expect(fs.existsSync(copy(a))).toBe(true);
    const second = await send(server.opampPort, 'GET', '/v1/packages/evict-b/1.0.0/b.bin');
    expect(sha(second.bytes)).toBe(sha(b));
    await eventually(
      async () => fs.existsSync(copy(a)),
      (there) => !there,
    );
    expect(fs.existsSync(copy(b))).toBe(true);
    const again = await send(server.opampPort, 'GET', '/v1/packages/evict-a/1.0.0/a.bin');
    expect(again.status).toBe(200);
    expect(sha(again.bytes)).toBe(sha(a));
    await eventually(
      async () => fs.existsSync(copy(b)),
      (there) => !there,
    );
  });
});
