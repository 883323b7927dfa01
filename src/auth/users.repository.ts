import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { isDuplicateKey } from '../database/duplicate-key';
import { Page, pageByKey } from '../database/key-page';
import { User } from './user.schema';

/** The one owner of the `users` collection (users and sessions services both ask it). */
export abstract class UsersRepository {
  abstract findById(username: string): Promise<User | undefined>;
  abstract exists(username: string): Promise<boolean>;
  /** Stores a new user; false when the name is taken. */
  abstract insert(user: User): Promise<boolean>;
  /** One page in name order after `after`. */
  abstract page(limit: number, after?: string): Promise<Page<User>>;
  /** Sets and removes fields of one user. */
  abstract update(username: string, set: Partial<Record<keyof User, unknown>>, unset?: (keyof User)[]): Promise<void>;
  abstract delete(username: string): Promise<void>;
  abstract findByGithubId(githubId: string): Promise<User | undefined>;
  /** The user an admin linked to this GitHub login before its first GitHub sign-in (no id yet). */
  abstract findUnconfirmedGithubLogin(login: string): Promise<User | undefined>;
  /** Whether a user other than `except` is linked to this GitHub login. */
  abstract githubLoginTaken(login: string, except?: string): Promise<boolean>;
  /** Enabled admins other than this user. */
  abstract countOtherEnabledAdmins(username: string): Promise<number>;
}

@Injectable()
export class MongooseUsersRepository extends UsersRepository {
  constructor(@InjectModel(User.name) private readonly users: Model<User>) {
    super();
  }

  async findById(username: string): Promise<User | undefined> {
    return (await this.users.findById(username).lean<User>()) ?? undefined;
  }

  async exists(username: string): Promise<boolean> {
    return (await this.users.exists({ _id: username })) !== null;
  }

  async insert(user: User): Promise<boolean> {
    try {
      await this.users.create(user);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  page(limit: number, after?: string): Promise<Page<User>> {
    return pageByKey(this.users, { limit, after: after || undefined });
  }

  async update(username: string, set: Partial<Record<keyof User, unknown>>, unset: (keyof User)[] = []): Promise<void> {
    const update: Record<string, unknown> = { $set: set };
    if (unset.length) update.$unset = Object.fromEntries(unset.map((k) => [k, '']));
    await this.users.updateOne({ _id: username }, update);
  }

  async delete(username: string): Promise<void> {
    await this.users.deleteOne({ _id: username });
  }

  async findByGithubId(githubId: string): Promise<User | undefined> {
    return (await this.users.findOne({ githubId }).lean<User>()) ?? undefined;
  }

  async findUnconfirmedGithubLogin(login: string): Promise<User | undefined> {
    return (await this.users.findOne({ githubLogin: login, githubId: { $exists: false } }).lean<User>()) ?? undefined;
  }

  async githubLoginTaken(login: string, except?: string): Promise<boolean> {
    return (await this.users.exists(except === undefined ? { githubLogin: login } : { githubLogin: login, _id: { $ne: except } })) !== null;
  }

  countOtherEnabledAdmins(username: string): Promise<number> {
    return this.users.countDocuments({ _id: { $ne: username }, role: 'admin', disabled: { $ne: true } });
  }
}
