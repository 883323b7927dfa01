import type { RemoteConfig, StoredRevision } from './remote-config.schema';

/** The REST shape of a remote config: `{kind, apiVersion, metadata, spec, status}`. */
export function toRemoteConfigResource(h: RemoteConfig) {
  return {
    kind: 'RemoteConfig' as const,
    apiVersion: 'v1' as const,
    metadata: {
      name: h._id,
      createdAt: h.createdAt,
      updatedAt: h.updatedAt,
      resourceVersion: String(h.resourceVersion),
      ...(h.deletedAt ? { deletedAt: h.deletedAt } : {}),
    },
    spec: {
      contentType: h.latest.contentType,
      body: h.latest.body,
      ...(h.description !== undefined && h.description !== null ? { description: h.description } : {}),
    },
    status: {
      latestRevision: h.latest.revision,
      // Revisions are never removed and numbered from 1, so their count is the latest number.
      revisionCount: h.latest.revision,
      hash: h.latest.hash,
      lastChange: { author: h.latest.author, message: h.latest.message, createdAt: h.latest.createdAt },
    },
  };
}

/** The REST shape of one revision; lists leave the body out. */
export function toRevisionResource(config: string, r: StoredRevision, withBody = true) {
  return {
    kind: 'RemoteConfigRevision' as const,
    apiVersion: 'v1' as const,
    metadata: { name: config, revision: r.revision, hash: r.hash, author: r.author, message: r.message, createdAt: r.createdAt },
    spec: withBody ? { contentType: r.contentType, body: r.body } : { contentType: r.contentType },
  };
}
