import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Client certificates for agent mTLS tests (EC P-256, valid until 2126), made once with openssl:
 * a CA (`/CN=test-agent-ca`, the server's TLS_CLIENT_CA_FILE), an agent certificate it signed
 * (`/CN=agent-007`, extendedKeyUsage clientAuth), and a self-signed rogue certificate
 * (`/CN=rogue-agent`) the CA does not vouch for. Test use only: the keys are public.
 */
export const AGENT_CA_CERT = `
-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUQFkqYMEEYTGuF1ZGxgqH4SWRC/swCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdGVzdC1hZ2VudC1jYTAgFw0yNjExMjUwMjA1MzNaGA8yMTI2
MTEwMTAyMDUzM1owGDEWMBQGA1UEAwwNdGVzdC1hZ2VudC1jYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABLEwsoUoC8xbNu7UIJSXvTPllstdweiGaWFDyUIY7oS6
YlIvYmZnORgiOAP75rldAA93MDa1ZoulSoiQ8vhv6iajUzBRMB0GA1UdDgQWBBR2
v1NMQVGEXZ5qE+9op0h7LSdegjAfBgNVHSMEGDAWgBR2v1NMQVGEXZ5qE+9op0h7
LSdegjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCkr6kKFd1t
OZ/Fr15fl+qJh0g/3BCHrbTUgOTcqOP4XgIgaUUwrGeGQ1h+csyeICkm0aboIkYV
Ewol5DV2MfZOKLo=
-----END CERTIFICATE-----
`.trimStart();

export const AGENT_CLIENT_CERT = `
-----BEGIN CERTIFICATE-----
MIIBnzCCAUWgAwIBAgIUHZfVMZu473MSuSr8ZRHeR2UfTacwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdGVzdC1hZ2VudC1jYTAgFw0yNjExMjUwMjA1MzRaGA8yMTI2
MTEwMTAyMDUzNFowFDESMBAGA1UEAwwJYWdlbnQtMDA3MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEZspyteuRR9lqHg7DVOHJMKe594iGwQMHNqZhcZrCifazPFvG
BODas5YqH3buDrzQQtVUevmGp/xrJgw/t+aWlaNvMG0wCQYDVR0TBAIwADALBgNV
HQ8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFJAvR4Q+w0hZ
RiulQ5p+5Khb9Dp1MB8GA1UdIwQYMBaAFHa/U0xBUYRdnmoT72inSHstJ16CMAoG
CCqGSM49BAMCA0gAMEUCIQCeIQW4K1OlPKptvgqAJMLC28UyfzdOWFSSYexE0Ekt
9QIgYk6uSpYIf5FRCd5W6k3G8ljP7Z7429UM7QEtoSObj5Y=
-----END CERTIFICATE-----
`.trimStart();

export const AGENT_CLIENT_KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUSmWFlYTnlRckYTT
D7p1R1l8xmP8N13hd9UgetAza4ehRANCAARmynK165FH2WoeDsNU4ckwp7n3iIbB
Awc2pmFxmsKJ9rM8W8YE4Nqzliofdu4OvNBC1VR6+Yan/GsmDD+35paV
-----END PRIVATE KEY-----
`.trimStart();

export const ROGUE_CLIENT_CERT = `
-----BEGIN CERTIFICATE-----
MIIBhDCCASmgAwIBAgIUQ+RN0hbocPRvSiA8T2M5DTxdsF0wCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcm9ndWUtYWdlbnQwIBcNMjYxMTI1MDIwNTM0WhgPMjEyNjEx
MDEwMjA1MzRaMBYxFDASBgNVBAMMC3JvZ3VlLWFnZW50MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEr21uFCTXwSaOQQBYx7+jMvt99qboKzFDp8rZPzRVjONiiYRL
cwJC8f/dXzdOVlqv/fg9oP4qdwNSysHyUEjsS6NTMFEwHQYDVR0OBBYEFJa1bu1n
DynDBVbDNgWnPJDhFnZwMB8GA1UdIwQYMBaAFJa1bu1nDynDBVbDNgWnPJDhFnZw
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSQAwRgIhAJhr06epJFpY5pXo
hLA7WNn958Bq/j4qhurNh+nK81+4AiEA25G885FJ5JfztSHoFq4yEV/0NSiPUcTP
L0EbMxuIgDU=
-----END CERTIFICATE-----
`.trimStart();

export const ROGUE_CLIENT_KEY = `
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUGJ+pSYkfcaAd2Aq
dKRo2tgZM9S758xbc0kKvLRfYU6hRANCAASvbW4UJNfBJo5BAFjHv6My+332pugr
MUOnytk/NFWM42KJhEtzAkLx/91fN05WWq/9+D2g/ip3A1LKwfJQSOxL
-----END PRIVATE KEY-----
`.trimStart();

/** Writes the CA to a temporary file; returns its path for TLS_CLIENT_CA_FILE. */
export function writeAgentCaFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occ-mtls-'));
  const file = path.join(dir, 'agents-ca.crt');
  fs.writeFileSync(file, AGENT_CA_CERT);
  return file;
}
