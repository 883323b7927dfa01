import type { FastifyInstance } from 'fastify';

/** The media type of an uploaded package file's body. */
export const PACKAGE_UPLOAD_MEDIA_TYPE = 'application/octet-stream';

/**
 * Lets `application/octet-stream` bodies through as the request stream itself, unread, so that a
 * package upload is streamed into storage as it arrives (never buffered, and not held to the API's
 * JSON body limit: PACKAGE_MAX_FILE_BYTES applies instead, counted as the bytes flow).
 */
export function acceptStreamedUploads(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(PACKAGE_UPLOAD_MEDIA_TYPE, (_req, payload, done) => done(null, payload));
}
