import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ChangeFeed } from '../cluster/change-feed';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../common/domain-errors';
import { KeyedMutex } from '../common/keyed-mutex';
import { decoyPasswordHash, hashPassword, verifyPassword } from './password-hash';
import { passwordProblem } from '../common/password-policy';
import { Role } from '../common/roles';
import { randomSecret } from './secret-compare';
import { SessionsService } from './sessions.service';
import { User, UserSource } from './user.schema';
import { UsersRepository } from './users.repository';

/** User names: lower case, 1-64 of letters, digits and `._@:-` (GitHub users are `github:<login>`). */
export const USERNAME_PATTERN = /^[a-z0-9]([a-z0-9._@:-]{0,62}[a-z0-9])?$/;

export interface UserInput {
  role: Role;
  password?: string;
  githubLogin?: string;
  disabled?: boolean;
}

/** A GitHub account as its profile shows it (passport-github2's mapping). */
export interface GithubIdentity {
  id: string;
  login: string;
}

const invalid = (field: string, message: string) => new InvalidError(`${field} ${message}`, { errors: [{ field, message }] });

/** Users of the management API: the configured admin, API-managed users, GitHub users. */
@Injectable()
export class UsersService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Users');
  /** One change at a time per user (FerretDB applies updates as read-modify-write). */
  private readonly writes = new KeyedMutex();

  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly feed: ChangeFeed,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bootstrapAdmin();
  }

  /**
   * Makes sure ADMIN_USERNAME exists as an enabled admin. ADMIN_PASSWORD, when set, is applied
   * at every start (so changing it rotates the password, and recovers a lost one); when unset,
   * a random password is generated at the first start and printed once, outside the log.
   */
  async bootstrapAdmin(): Promise<void> {
    const name = this.config.auth.adminUsername;
    const configured = this.config.auth.adminPassword;
    const existing = await this.users.findById(name);
    if (!existing) {
      const password = configured ?? randomSecret(18);
      const now = new Date();
      const created = await this.users.insert({
        _id: name,
        role: 'admin',
        source: 'config',
        disabled: false,
        passwordHash: await hashPassword(password),
        createdAt: now,
        updatedAt: now,
      });
      if (!created) return; // another replica created it at the same moment
      if (configured) {
        this.logger.log(`Created the administrator "${name}" with the password from ADMIN_PASSWORD`);
      } else {
        this.logger.warn(`Created the administrator "${name}" with a generated password, printed once to stderr (not to the log)`);
        process.stderr.write(
          `\n  OpAMP Commander created the administrator "${name}" with this generated password:\n\n      ${password}\n\n` +
            `  It is shown only this once. Sign in and change it (PATCH /api/v1/users/${name}), or set ADMIN_PASSWORD.\n\n`,
        );
      }
      return;
    }
    const set: Partial<User> = {};
    if (configured && !(existing.passwordHash && (await verifyPassword(configured, existing.passwordHash)))) set.passwordHash = await hashPassword(configured);
    if (existing.role !== 'admin' || existing.disabled) Object.assign(set, { role: 'admin', disabled: false });
    if (Object.keys(set).length === 0) return;
    await this.users.update(name, { ...set, updatedAt: new Date() });
    if (set.passwordHash) {
      await this.sessions.revokeAllOf(name, 'password changed');
      this.logger.log(`ADMIN_PASSWORD differs from the stored password of "${name}": password updated, its sessions ended`);
    }
    if (set.role) this.logger.warn(`"${name}" is ADMIN_USERNAME: made an enabled admin again`);
  }

  /**
   * The user when the password is right, else undefined. Takes the same time whether the user
   * exists or not (a decoy hash is checked for unknown users).
   */
  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const user = USERNAME_PATTERN.test(username) ? await this.users.findById(username) : undefined;
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
    return ok && user && !user.disabled ? user : undefined;
  }

  async exists(username: string): Promise<boolean> {
    return USERNAME_PATTERN.test(username) && (await this.users.exists(username));
  }

  /** An enabled user, or undefined. */
  async active(username: string): Promise<User | undefined> {
    const user = await this.users.findById(username);
    return user && !user.disabled ? user : undefined;
  }

  async touchLogin(username: string): Promise<void> {
    await this.writes.run(username, () => this.users.update(username, { lastLoginAt: new Date() }));
  }

  async get(username: string): Promise<User> {
    const user = await this.users.findById(username);
    if (!user) throw new NotFoundError(`user ${username} not found`);
    return user;
  }

  async list(limit: number, after?: string): Promise<{ items: User[]; remaining: number }> {
    return this.users.page(limit, after);
  }

  async create(username: string, input: UserInput, source: UserSource = 'local'): Promise<User> {
    if (!USERNAME_PATTERN.test(username)) throw invalid('metadata.name', 'must be 1-64 lower-case letters, digits, ".", "_", "@", ":" or "-"');
    if (input.password !== undefined) this.checkPasswordPolicy(input.password, username);
    const githubLogin = input.githubLogin?.toLowerCase();
    if (githubLogin && (await this.users.githubLoginTaken(githubLogin)))
      throw new ConflictError(`GitHub login ${githubLogin} is already linked to another user`);
    const now = new Date();
    const doc: User = {
      _id: username,
      role: input.role,
      disabled: input.disabled ?? false,
      source,
      ...(input.password !== undefined ? { passwordHash: await hashPassword(input.password) } : {}),
      ...(githubLogin ? { githubLogin } : {}),
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.users.insert(doc))) throw new ConflictError(`user ${username} already exists`);
    this.feed.resourceChanged('users', 'ADDED', username);
    return doc;
  }

  /** Changes role, password, GitHub link or disabled; a new password or disabling ends the user's sessions. */
  async update(username: string, patch: Partial<Omit<UserInput, 'githubLogin'>> & { githubLogin?: string | null }, actor: string): Promise<User> {
    return this.writes.run(username, async () => {
      const user = await this.get(username);
      const set: Partial<Record<keyof User, unknown>> = { updatedAt: new Date() };
      const unset: (keyof User)[] = [];
      if (patch.password !== undefined) {
        this.checkPasswordPolicy(patch.password, username);
        set.passwordHash = await hashPassword(patch.password);
      }
      if (patch.role !== undefined) set.role = patch.role;
      if (patch.disabled !== undefined) set.disabled = patch.disabled;
      if (patch.githubLogin === null) {
        unset.push('githubLogin', 'githubId');
      } else if (patch.githubLogin !== undefined && patch.githubLogin.toLowerCase() !== user.githubLogin) {
        const login = patch.githubLogin.toLowerCase();
        if (await this.users.githubLoginTaken(login, username)) throw new ConflictError(`GitHub login ${login} is already linked to another user`);
        set.githubLogin = login;
        unset.push('githubId');
      }
      const losesAdmin = user.role === 'admin' && !user.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
      if (losesAdmin) {
        if (username === actor) throw new ConflictError('you cannot take away your own admin role or disable yourself; another admin can');
        await this.assertAnotherAdmin(username);
      }
      await this.users.update(username, set, unset);
      this.feed.resourceChanged('users', 'MODIFIED', username);
      // A new role must apply to the next request, not after the sign-in cache goes stale.
      this.sessions.forgetSignInsOf(username);
      if (patch.password !== undefined || patch.disabled === true)
        await this.sessions.revokeAllOf(username, patch.disabled ? 'user disabled' : 'password changed');
      return this.get(username);
    });
  }

  async delete(username: string, actor: string): Promise<void> {
    await this.writes.run(username, async () => {
      const user = await this.get(username);
      if (username === actor) throw new ConflictError('you cannot delete yourself; another admin can');
      if (user.role === 'admin' && !user.disabled) await this.assertAnotherAdmin(username);
      await this.users.delete(username);
      this.feed.resourceChanged('users', 'DELETED', username);
      await this.sessions.revokeAllOf(username, 'user deleted');
    });
  }

  /**
   * The user a GitHub account signs in as: the one linked to its id, else the one an admin
   * linked to its login; else a new user `github:<login>` with GITHUB_DEFAULT_ROLE, but only
   * for members of an allowed organisation. Users created that way lose access when they
   * leave every allowed organisation; users an admin linked keep it.
   */
  async signInWithGithub(identity: GithubIdentity, memberOfAllowedOrg: boolean): Promise<User> {
    const login = identity.login.toLowerCase();
    const linked = (await this.users.findByGithubId(identity.id)) ?? (await this.users.findUnconfirmedGithubLogin(login));
    if (linked) {
      if (linked.disabled) throw new ForbiddenError(`user ${linked._id} is disabled`);
      if (linked.source === 'github' && !memberOfAllowedOrg) throw new ForbiddenError(`GitHub user ${login} is not a member of an allowed organisation`);
      if (linked.githubId !== identity.id || linked.githubLogin !== login) {
        await this.users.update(linked._id, { githubId: identity.id, githubLogin: login, updatedAt: new Date() });
      }
      return linked;
    }
    if (!memberOfAllowedOrg) {
      throw new ForbiddenError(
        this.config.auth.github.allowedOrgs.length
          ? `GitHub user ${login} is not a member of an allowed organisation`
          : `GitHub user ${login} is not linked to a user (an admin sets spec.githubLogin), and no organisation is allowed`,
      );
    }
    const username = `github:${login}`;
    const existing = await this.users.findById(username);
    if (existing) {
      // A user of that name whose GitHub id differs (the login changed hands): never merge accounts.
      throw new ForbiddenError(`user ${username} exists and belongs to another GitHub account`);
    }
    const user = await this.create(username, { role: this.config.auth.github.defaultRole, githubLogin: login }, 'github');
    await this.users.update(username, { githubId: identity.id });
    this.logger.log(`Created user ${username} (role ${user.role}) at their first GitHub sign-in`);
    return { ...user, githubId: identity.id };
  }

  private checkPasswordPolicy(password: string, username: string): void {
    const problem = passwordProblem(password, username);
    if (problem) throw invalid('spec.password', problem);
  }

  private async assertAnotherAdmin(username: string): Promise<void> {
    const others = await this.users.countOtherEnabledAdmins(username);
    if (others === 0) throw new ConflictError(`${username} is the last enabled admin; make another user admin first`);
  }
}
