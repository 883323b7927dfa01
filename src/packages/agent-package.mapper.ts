import type { AgentPackage } from './agent-package.schema';
import { downloadPath } from './agent-packages.service';

/** The REST shape of a package version: `{kind, apiVersion, metadata, spec, status}`. */
export function toAgentPackageResource(p: AgentPackage) {
  return {
    kind: 'AgentPackage' as const,
    apiVersion: 'v1' as const,
    metadata: {
      name: p._id,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      resourceVersion: String(p.resourceVersion),
      ...(p.deletedAt ? { deletedAt: p.deletedAt } : {}),
    },
    spec: {
      package: p.package,
      version: p.version,
      type: p.type,
      ...(p.description !== undefined && p.description !== null ? { description: p.description } : {}),
      files: p.files.map((f) => ({
        name: f.name,
        ...(f.platform ? { platform: f.platform } : {}),
        ...(f.url ? { url: f.url } : {}),
        sha256: f.sha256,
        ...(f.size !== undefined ? { size: f.size } : {}),
        ...(f.signature ? { signature: f.signature } : {}),
        ...(f.sigstoreBundle ? { sigstoreBundle: Buffer.from(f.sigstoreBundle, 'utf8').toString('base64') } : {}),
      })),
    },
    status: {
      fileCount: p.files.length,
      files: p.files.map((f) => ({
        name: f.name,
        stored: Boolean(f.storedId),
        ...(f.storedId && !p.deletedAt ? { downloadPath: downloadPath(p.package, p.version, f.name) } : {}),
        signed: Boolean(f.signature || f.sigstoreBundle),
        signatureVerified: f.signatureVerified,
        ...(f.signer ? { signer: f.signer } : {}),
        addedAt: f.addedAt,
      })),
    },
  };
}
