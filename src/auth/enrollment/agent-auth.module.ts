import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { AuditedKinds } from '../../audit/audited-kinds';
import { auditedEnrollmentTokens } from './enrollment-tokens.audited';
import { MongooseModule } from '@nestjs/mongoose';
import { AgentAuthenticator } from '../../protocol/agent-authenticator';
import { EnrollmentAgentAuthenticator } from './enrollment-agent-authenticator';
import { EnrollmentToken, EnrollmentTokenSchema } from './enrollment-token.schema';
import { EnrollmentTokensController } from './enrollment-tokens.controller';
import { EnrollmentTokensRepository, MongooseEnrollmentTokensRepository } from './enrollment-tokens.repository';
import { EnrollmentTokensService } from './enrollment-tokens.service';

/** Agent credentials: enrollment tokens (and the check every OpAMP transport calls). */
@Module({
  imports: [AuditModule, MongooseModule.forFeature([{ name: EnrollmentToken.name, schema: EnrollmentTokenSchema }])],
  controllers: [EnrollmentTokensController],
  providers: [
    EnrollmentTokensService,
    { provide: EnrollmentTokensRepository, useClass: MongooseEnrollmentTokensRepository },
    { provide: AgentAuthenticator, useClass: EnrollmentAgentAuthenticator },
  ],
  exports: [AgentAuthenticator, EnrollmentTokensService],
})
export class AgentAuthModule {
  constructor(audited: AuditedKinds, tokens: EnrollmentTokensRepository) {
    audited.register('enrollment-tokens', auditedEnrollmentTokens(tokens));
  }
}
