import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

/**
 * A credential agents present to connect (`Authorization: Bearer oce_<id>.<secret>`). Only a
 * SHA-256 of the secret is stored; the secret itself is shown once, when the token is created.
 */
@Schema({ collection: 'enrollment_tokens', versionKey: false, minimize: false })
export class EnrollmentToken {
  /** 16 hex characters: the token's name in the API and the first part of the token. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, default: '' })
  description: string;

  @Prop({ type: String, required: true })
  secretHash: string;

  /** Stamped onto every agent that connects with the token (keys the agent lacks). */
  @Prop({ type: MongooseSchema.Types.Mixed, default: {} })
  labels: Record<string, string>;

  @Prop({ type: Date, default: null })
  expiresAt: Date | null;

  @Prop({ type: Date, default: null })
  revokedAt: Date | null;

  @Prop({ type: String, required: true })
  createdBy: string;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  /** Updated at most once a minute per replica. */
  @Prop({ type: Date, default: null })
  lastUsedAt: Date | null;
}
export const EnrollmentTokenSchema = SchemaFactory.createForClass(EnrollmentToken);
