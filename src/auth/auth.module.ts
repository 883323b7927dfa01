import { createSecretKey } from 'node:crypto';
import { AuditedKinds } from '../audit/audited-kinds';
import { auditedUsers } from './users.audited';
import { Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { MongooseModule } from '@nestjs/mongoose';
import { PassportModule } from '@nestjs/passport';
import { AuditModule } from '../audit/audit.module';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AgentAuthModule } from './enrollment/agent-auth.module';
import { ApiAccessGuard } from './api-access.guard';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { BrowserSessionController } from './browser-session.controller';
import { GithubAuthController } from './github/github-auth.controller';
import { GithubOAuthService } from './github/github-oauth.service';
import { JWT_SIGNING_SECRET, resolveJwtSecret } from './jwt-secret';
import { JwtStrategy } from './jwt.strategy';
import { LoginRateLimiter } from './login-rate-limiter';
import { AuthSession, AuthSessionSchema } from './session.schema';
import { MongooseSessionsRepository, SessionsRepository } from './sessions.repository';
import { JWT_AUDIENCE, JWT_ISSUER, SessionsService } from './sessions.service';
import { User, UserSchema } from './user.schema';
import { UsersController } from './users.controller';
import { MongooseUsersRepository, UsersRepository } from './users.repository';
import { UsersService } from './users.service';

/**
 * Who may do what on the management API: users and roles, password and GitHub sign-in, JWT
 * access tokens with rotating refresh tokens, and the global guard that protects every
 * /api/v1 route. Agent credentials live in AgentAuthModule.
 */
@Module({
  imports: [
    PassportModule,
    AuditModule,
    AgentAuthModule,
    MongooseModule.forFeature([
      { name: User.name, schema: UserSchema },
      { name: AuthSession.name, schema: AuthSessionSchema },
    ]),
  ],
  controllers: [AuthController, BrowserSessionController, GithubAuthController, UsersController],
  providers: [
    {
      provide: JWT_SIGNING_SECRET,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => resolveJwtSecret(config.auth.jwtSecret, config.dataDir, (m) => new Logger('Auth').warn(m)),
    },
    {
      provide: JwtService,
      inject: [JWT_SIGNING_SECRET],
      useFactory: (secret: string) =>
        new JwtService({
          // A key object for the reason given in JwtStrategy.
          secret: createSecretKey(Buffer.from(secret, 'utf8')) as unknown as string,
          signOptions: { algorithm: 'HS256', issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
          verifyOptions: { algorithms: ['HS256'], issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
        }),
    },
    UsersService,
    SessionsService,
    { provide: UsersRepository, useClass: MongooseUsersRepository },
    { provide: SessionsRepository, useClass: MongooseSessionsRepository },
    AuthService,
    LoginRateLimiter,
    JwtStrategy,
    GithubOAuthService,
    { provide: APP_GUARD, useClass: ApiAccessGuard },
  ],
})
export class AuthModule {
  constructor(audited: AuditedKinds, users: UsersRepository) {
    audited.register('users', auditedUsers(users));
  }
}
