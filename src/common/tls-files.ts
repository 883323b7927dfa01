import * as fs from 'node:fs';
import type { TLSSocket } from 'node:tls';
import type { AppConfig } from '../config/app-config';

/** Reads one PEM file named by a setting; a missing or unreadable file stops the start with one line naming both. */
export function readTlsFile(setting: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Error(`Cannot read ${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

/** Server certificate and key of TLS_CERT_FILE / TLS_KEY_FILE, or undefined for plaintext. */
export function serverTls(config: Pick<AppConfig, 'tls'>): { cert: Buffer; key: Buffer } | undefined {
  const { certFile, keyFile } = config.tls;
  if (!certFile || !keyFile) return undefined;
  return { cert: readTlsFile('TLS_CERT_FILE', certFile), key: readTlsFile('TLS_KEY_FILE', keyFile) };
}

/**
 * TLS options of the agent listeners: the server certificate, and with TLS_CLIENT_CA_FILE a
 * request for a client certificate that is verified but not required (agents without one may
 * still present a token; the authenticator decides).
 */
export function agentListenerTls(
  config: Pick<AppConfig, 'tls'>,
): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: false } | undefined {
  const server = serverTls(config);
  if (!server) return undefined;
  const ca = config.tls.clientCaFile ? readTlsFile('TLS_CLIENT_CA_FILE', config.tls.clientCaFile) : undefined;
  return { ...server, ...(ca ? { ca } : {}), requestCert: ca !== undefined, rejectUnauthorized: false };
}

/** Whether a TLS socket's client certificate verified against the configured CA, and its subject CN. */
export function peerCertificateOf(socket: unknown): { certificateVerified: boolean; certificateSubject?: string } {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (!tls?.encrypted || !tls.authorized || typeof tls.getPeerCertificate !== 'function') return { certificateVerified: false };
  const cn = tls.getPeerCertificate()?.subject?.CN;
  return { certificateVerified: true, ...(cn ? { certificateSubject: String(cn) } : {}) };
}
