import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';
import type { AgentPackageType } from './package-catalogue';

/** One file of a package version: uploaded (stored in GridFS, `storedId`) or at an external https URL. */
export interface StoredPackageFile {
  /** A plain file name, unique in its version; the last segment of the download path. */
  name: string;
  /** `os` or `os/arch`; empty for a file that fits every platform. Unique in its version. */
  platform: string;
  /** Hex id of the GridFS file holding the bytes (uploaded files). */
  storedId?: string;
  /** https URL agents download from (external files). */
  url?: string;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
  size?: number;
  /** Base64 signature as given; passed through to agents. */
  signature?: string;
  /** The Sigstore bundle's JSON as uploaded (verified before the file was stored); passed through to agents. */
  sigstoreBundle?: string;
  /** Who signed the bundle, as verified: the certificate's SAN and OIDC issuer, or the package signing key. */
  signer?: { kind: 'certificate' | 'public-key'; identity?: string; issuer?: string };
  /** Whether `signature` (against PACKAGE_SIGNING_PUBLIC_KEY_FILE) or `sigstoreBundle` was verified when it was stored. */
  signatureVerified: boolean;
  addedAt: Date;
}

/**
 * One catalogued version of an agent package, `_id` = `NAME@VERSION`. What a version says of a
 * file never changes once stored (the file's bytes, hash, URL, signature); a version gains a file
 * only for a platform it has none for. Deleted versions keep their record (the audit trail) and
 * lose their stored bytes; their id is never taken again.
 */
@Schema({ collection: 'agent_packages', versionKey: false, minimize: false })
export class AgentPackage {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  package: string;

  @Prop({ type: String, required: true })
  version: string;

  @Prop({ type: String, required: true })
  type: AgentPackageType;

  @Prop({ type: String })
  description?: string;

  @Prop({ type: [MongooseSchema.Types.Mixed], default: [] })
  files: StoredPackageFile[];

  @Prop({ type: Number, required: true })
  resourceVersion: number;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  updatedAt: Date;

  @Prop({ type: Date, default: null })
  deletedAt: Date | null;
}
export const AgentPackageSchema = SchemaFactory.createForClass(AgentPackage);
AgentPackageSchema.index({ package: 1, deletedAt: 1 });
