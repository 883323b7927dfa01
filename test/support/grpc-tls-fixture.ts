import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A self-signed certificate for `localhost` / 127.0.0.1 (EC P-256, valid until 2126), made once
 * with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1`. Test use only: the
 * key is public.
 */
export const TEST_TLS_CERT = `
-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUVaAqjtyxvP5QH0yuv6I3EJTfBuowCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyNTAxMDY0MFoYDzIxMjYxMTAx
MDEwNjQwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATYqA1KQqZDl1m091aMgxOKkYcCUR/Qx8k6RwTxParRfSUqFTKn4I3a
TpAegodFvPgYXIiH70WeB833+aPkdZcso28wbTAdBgNVHQ4EFgQUxWMf3EjXBdbu
021pnhA15ceb9FcwHwYDVR0jBBgwFoAUxWMf3EjXBdbu021pnhA15ceb9FcwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDRwAwRAIgTqp62uyKEOHTtF1TBFRAp50mKtMZQF8OfKJj9zuDoFkCIBZ8
xq4y05gsxfQy1Bzy8e/ba8CHpzMiPB1PzhzvPqFh
-----END CERTIFICATE-----
`.trimStart();

export const TEST_TLS_KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIuSSNUiK277UmbzJ
NRdeHP8Hh1Eopoy3iZZybrzeAl6hRANCAATYqA1KQqZDl1m091aMgxOKkYcCUR/Q
x8k6RwTxParRfSUqFTKn4I3aTpAegodFvPgYXIiH70WeB833+aPkdZcs
-----END PRIVATE KEY-----
`.trimStart();

/** Writes the pair to a temporary directory; returns the file paths for GRPC_TLS_CERT_FILE / GRPC_TLS_KEY_FILE. */
export function writeTestTlsFiles(): { certFile: string; keyFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occ-grpc-tls-'));
  const certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  fs.writeFileSync(certFile, TEST_TLS_CERT);
  fs.writeFileSync(keyFile, TEST_TLS_KEY, { mode: 0o600 });
  return { certFile, keyFile };
}
