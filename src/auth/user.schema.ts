import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { Role } from '../common/roles';

/** Where a user came from: the configured admin, the users API, or a first GitHub sign-in. */
export type UserSource = 'config' | 'local' | 'github';

/** A user of the management API. The password is stored only as an scrypt hash. */
@Schema({ collection: 'users', versionKey: false })
export class User {
  /** The user name, lower case. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  role: Role;

  @Prop({ type: String })
  passwordHash?: string;

  @Prop({ type: Boolean, default: false })
  disabled: boolean;

  @Prop({ type: String, required: true })
  source: UserSource;

  /** GitHub login (lower case) this user signs in as; the numeric id is linked at the first sign-in. */
  @Prop({ type: String })
  githubLogin?: string;

  @Prop({ type: String })
  githubId?: string;

  @Prop({ type: Date })
  lastLoginAt?: Date;

  @Prop({ type: Date, required: true })
  createdAt: Date;

  @Prop({ type: Date, required: true })
  updatedAt: Date;
}
export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ githubId: 1 }, { sparse: true });
UserSchema.index({ githubLogin: 1 }, { sparse: true });

/** What a request knows of its signed-in user (request.user). */
export interface AuthenticatedUser {
  username: string;
  role: Role;
  /** The session (refresh token family) the access token belongs to. */
  sessionId: string;
}
