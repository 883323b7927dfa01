import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

/** One immutable revision of a remote config's content, with who made it and why. */
export interface StoredRevision {
  revision: number;
  /** sha256 hex of the content type, a NUL byte and the body (UTF-8). */
  hash: string;
  contentType: string;
  body: string;
  author: string;
  message: string;
  createdAt: Date;
}

/**
 * The head of a remote config: its identity, resource version and a full copy of its latest
 * revision. The head is written by one compare-and-set on `resourceVersion`, which is the commit
 * point of every change (FerretDB has no multi-document transactions); the revision document is
 * derived from it and rewritten from the head should it ever be missing.
 */
@Schema({ collection: 'remote_configs', versionKey: false, minimize: false })
export class RemoteConfig {
  /** The name, a DNS label. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String })
  description?: string;

  @Prop({ type: Number, required: true })
  resourceVersion: number;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  latest: StoredRevision;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  updatedAt: Date;

  /** Set when soft-deleted; null otherwise (stored, so that `{deletedAt: null}` is a plain equality). */
  @Prop({ type: Date, default: null })
  deletedAt: Date | null;
}
export const RemoteConfigSchema = SchemaFactory.createForClass(RemoteConfig);
RemoteConfigSchema.index({ deletedAt: 1, _id: 1 });

/** Every revision of every remote config; `_id` is `<config>/<revision>`, so a number is never taken twice. */
@Schema({ collection: 'remote_config_revisions', versionKey: false })
export class RemoteConfigRevision implements StoredRevision {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  config: string;

  @Prop({ type: Number, required: true })
  revision: number;

  @Prop({ type: String, required: true })
  hash: string;

  @Prop({ type: String, required: true })
  contentType: string;

  /**
   * The body: stored once by content in the content store (`remote-config:<hash>`), shared by
   * every revision of any config with the same content type and body, and absent here; a
   * revision stored before that holds it inline until the start-up migration moves it. Reads
   * through the repository always carry it.
   */
  @Prop({ type: String })
  body: string;

  @Prop({ type: String, required: true })
  author: string;

  @Prop({ type: String, default: '' })
  message: string;

  @Prop({ type: Date, required: true })
  createdAt: Date;
}
export const RemoteConfigRevisionSchema = SchemaFactory.createForClass(RemoteConfigRevision);
RemoteConfigRevisionSchema.index({ config: 1, revision: -1 });

export const revisionId = (config: string, revision: number) => `${config}/${revision}`;
