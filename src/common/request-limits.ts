/**
 * How much of a REST request's head (request line and headers) the API listener reads: 128 KiB,
 * eight times Node's default, so that a package upload's Sigstore bundle (some 15 KiB of base64 for
 * the certificate of a CI identity, its log entry and inclusion proof; up to MAX_BUNDLE_LENGTH, even
 * percent-encoded) fits in the query beside the bearer token. Past it Node answers 431 itself,
 * without a body.
 */
export const API_MAX_HEADER_BYTES = 128 * 1024;
