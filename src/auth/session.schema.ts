import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One sign-in: a refresh token family. Only the hash of the current refresh token is kept,
 * with the hashes of those it replaced, so a replayed old one is recognised (and revokes the
 * family). Access tokens name their session, so revoking it ends them too.
 */
@Schema({ collection: 'auth_sessions', versionKey: false })
export class AuthSession {
  /** Random id, 32 hex characters; the first part of every refresh token of the family. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  username: string;

  /** How the user signed in: password, basic, github, github-device. */
  @Prop({ type: String, required: true })
  method: string;

  @Prop({ type: String, required: true })
  refreshHash: string;

  @Prop({ type: [String], default: [] })
  previousHashes: string[];

  /**
   * The replaced token that may still be exchanged until `graceUntil`
   * (REFRESH_TOKEN_REUSE_GRACE_SECONDS): the one a browser keeps when the answer of its refresh
   * was lost (a reload or a closed tab cut the request).
   */
  @Prop({ type: String })
  graceHash?: string;

  @Prop({ type: Date })
  graceUntil?: Date;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  refreshedAt: Date;

  /** When the current refresh token stops working; the document is deleted a day later. */
  @Prop({ type: Date, required: true })
  expiresAt: Date;

  @Prop({ type: Date, default: null })
  revokedAt: Date | null;

  @Prop({ type: String })
  revokedReason?: string;

  @Prop({ type: String })
  address?: string;
}
export const AuthSessionSchema = SchemaFactory.createForClass(AuthSession);
AuthSessionSchema.index({ username: 1 });
AuthSessionSchema.index({ expiresAt: 1 });
