import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { AuthSession } from './session.schema';

/** What a refresh token's rotation writes. */
export type SessionRotation = Pick<AuthSession, 'refreshHash' | 'previousHashes' | 'refreshedAt' | 'expiresAt' | 'graceHash' | 'graceUntil'>;

/** The one owner of the `sessions` collection (sign-in sessions and their refresh tokens). */
export abstract class SessionsRepository {
  abstract insert(session: AuthSession): Promise<void>;
  abstract findById(id: string): Promise<AuthSession | undefined>;
  /** Rotates the refresh token iff it is still `expectedHash` and the session is not revoked; false when another rotation or a revocation came first. */
  abstract rotate(id: string, expectedHash: string, next: SessionRotation): Promise<boolean>;
  abstract revoke(id: string, reason: string, at: Date): Promise<void>;
  abstract revokeAllOf(username: string, reason: string, at: Date): Promise<void>;
  /** Deletes sessions whose refresh token expired before `cutoff`; returns how many. */
  abstract deleteExpiredBefore(cutoff: Date): Promise<number>;
}

@Injectable()
export class MongooseSessionsRepository extends SessionsRepository {
  constructor(@InjectModel(AuthSession.name) private readonly sessions: Model<AuthSession>) {
    super();
  }

  async insert(session: AuthSession): Promise<void> {
    await this.sessions.create(session);
  }

  async findById(id: string): Promise<AuthSession | undefined> {
    return (await this.sessions.findById(id).lean<AuthSession>()) ?? undefined;
  }

  async rotate(id: string, expectedHash: string, next: SessionRotation): Promise<boolean> {
    const res = await this.sessions.updateOne({ _id: id, refreshHash: expectedHash, revokedAt: null }, { $set: next });
    return res.modifiedCount === 1;
  }

  async revoke(id: string, reason: string, at: Date): Promise<void> {
    await this.sessions.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at, revokedReason: reason } });
  }

  async revokeAllOf(username: string, reason: string, at: Date): Promise<void> {
    await this.sessions.updateMany({ username, revokedAt: null }, { $set: { revokedAt: at, revokedReason: reason } });
  }

  async deleteExpiredBefore(cutoff: Date): Promise<number> {
    return (await this.sessions.deleteMany({ expiresAt: { $lt: cutoff } })).deletedCount;
  }
}
