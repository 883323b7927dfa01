import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets are compared in constant time, and stored only as hashes. Tokens are 256-bit random
 * values, so one SHA-256 is enough to store them (passwords get scrypt, see password-hash.ts).
 */

/** A fresh random secret, base64url (43 characters for 32 bytes). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function hmacBase64url(key: string | Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
}

/**
 * Compares two strings in time that depends only on their lengths (hash both first, so even
 * different lengths take the same time and reveal nothing of the expected value).
 */
export function safeEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}
