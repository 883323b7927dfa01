import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { Page, pageByKey } from '../../database/key-page';
import { EnrollmentToken } from './enrollment-token.schema';

/** The one owner of the `enrollment_tokens` collection. */
export abstract class EnrollmentTokensRepository {
  abstract insert(token: EnrollmentToken): Promise<void>;
  abstract findById(id: string): Promise<EnrollmentToken | undefined>;
  /** One page in id order after `after`. */
  abstract page(limit: number, after?: string): Promise<Page<EnrollmentToken>>;
  /** Marks the token revoked unless it already is. */
  abstract revoke(id: string, at: Date): Promise<void>;
  abstract touch(id: string, lastUsedAt: Date): Promise<void>;
}

@Injectable()
export class MongooseEnrollmentTokensRepository extends EnrollmentTokensRepository {
  constructor(@InjectModel(EnrollmentToken.name) private readonly tokens: Model<EnrollmentToken>) {
    super();
  }

  async insert(token: EnrollmentToken): Promise<void> {
    await this.tokens.create(token);
  }

  async findById(id: string): Promise<EnrollmentToken | undefined> {
    return (await this.tokens.findById(id).lean<EnrollmentToken>()) ?? undefined;
  }

  page(limit: number, after?: string): Promise<Page<EnrollmentToken>> {
    return pageByKey(this.tokens, { limit, after: after || undefined });
  }

  async revoke(id: string, at: Date): Promise<void> {
    await this.tokens.updateOne({ _id: id, revokedAt: null }, { $set: { revokedAt: at } });
  }

  async touch(id: string, lastUsedAt: Date): Promise<void> {
    await this.tokens.updateOne({ _id: id }, { $set: { lastUsedAt } });
  }
}
