import { Injectable } from '@nestjs/common';
import { UnauthorizedError } from '../common/domain-errors';
import { AuditService } from '../audit/audit.service';
import { LoginRateLimiter } from './login-rate-limiter';
import { SessionsService, TokenPair } from './sessions.service';
import { User } from './user.schema';
import { UsersService } from './users.service';

/** Sign-in by password (JSON or HTTP Basic) and by GitHub, each ending in a new session. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly limiter: LoginRateLimiter,
    private readonly audit: AuditService,
  ) {}

  async loginWithPassword(usernameGiven: string, password: string, address: string, method: 'password' | 'basic'): Promise<TokenPair> {
    const username = usernameGiven.trim().toLowerCase();
    this.limiter.attempt(username, address);
    const user = await this.users.checkPassword(username, password);
    if (!user) {
      // An unknown name is not recorded: people type passwords into the user name field.
      const actor = (await this.users.exists(username)) ? username : '(unknown user)';
      await this.audit.record({
        actor: { username: actor, address },
        action: 'login',
        resource: { kind: 'sessions' },
        outcome: 'failure',
        summary: `${method} sign-in refused`,
      });
      throw new UnauthorizedError('Invalid user name or password.');
    }
    return this.signedIn(user, method, address);
  }

  async refresh(refreshToken: string, address: string): Promise<TokenPair> {
    return this.limiter.refresh(address, () => this.sessions.refresh(refreshToken));
  }

  /** A user proved who they are (password or GitHub): a new session, recorded. */
  async signedIn(user: User, method: string, address: string): Promise<TokenPair> {
    const pair = await this.sessions.start(user, method, address);
    await this.users.touchLogin(user._id);
    await this.audit.record({
      actor: { username: user._id, role: user.role, address },
      action: 'login',
      resource: { kind: 'sessions', name: user._id },
      summary: `${method} sign-in`,
    });
    return pair;
  }

  async logout(user: { username: string; role: string; sessionId: string }, address: string): Promise<void> {
    await this.sessions.revoke(user.sessionId, 'logout');
    await this.audit.record({
      actor: { username: user.username, role: user.role, address },
      action: 'logout',
      resource: { kind: 'sessions', name: user.username },
    });
  }
}
