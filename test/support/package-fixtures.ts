import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_TLS_CERT, TEST_TLS_KEY } from './grpc-tls-fixture';
import type { TestServer } from './test-server';

/** What the package specs share: hashing, uploading a file, and an https host serving other bytes than catalogued. */

export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The capabilities of an opamp-go agent that takes packages and reports their statuses. */
export const PACKAGE_CAPS = 'ReportsStatus,ReportsHeartbeat,ReportsHealth,AcceptsPackages,ReportsPackageStatuses';

/** PUTs one file of a package version to the catalogue (creating the version); the HTTP status. */
export async function uploadPackageFile(server: TestServer, id: string, file: string, body: Buffer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/packages/${encodeURIComponent(id)}/files/${file}?sha256=${sha256Hex(body)}`, {
    method: 'PUT',
    headers: { ...server.authHeaders, 'content-type': 'application/octet-stream' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/**
 * An external https file host (the catalogue requires https) that serves `served` for every path,
 * whatever the catalogue says of the file, and the CA file an agent trusts it with.
 */
export async function startFileHost(served: Buffer): Promise<{ port: number; caFile: string; close: () => Promise<void> }> {
  const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-host-')), 'ca.pem');
  fs.writeFileSync(caFile, TEST_TLS_CERT);
  const host = https.createServer({ cert: TEST_TLS_CERT, key: TEST_TLS_KEY }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': served.length });
    res.end(served);
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  return { port: (host.address() as AddressInfo).port, caFile, close: () => new Promise<void>((r) => host.close(() => r())) };
}
