import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { isDatabaseUnavailable } from '../../common/database-errors';
import { AgentAuthenticator, AgentAuthResult, AgentPeer, credentialsUncheckable } from '../../protocol/agent-authenticator';
import type { TransportKind } from '../../protocol/transport-kind';
import { EnrollmentTokensService } from './enrollment-tokens.service';

/**
 * Who may connect as an agent. OPAMP_AGENT_AUTH=token (the default): an enrollment token as
 * `Authorization: Bearer oce_…`, or a client certificate verified against TLS_CLIENT_CA_FILE.
 * User access tokens, refresh tokens and anything else are refused. OPAMP_AGENT_AUTH=none:
 * everyone, with a warning at start.
 */
@Injectable()
export class EnrollmentAgentAuthenticator extends AgentAuthenticator implements OnApplicationBootstrap {
  private readonly logger = new Logger('AgentAuth');

  constructor(
    private readonly tokens: EnrollmentTokensService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    if (this.config.auth.agentAuth === 'none') {
      this.logger.warn('OPAMP_AGENT_AUTH=none: any agent may connect without credentials. Use only on a trusted network.');
    } else {
      this.logger.log(`Agents authenticate with enrollment tokens${this.config.tls.clientCaFile ? ' or client certificates (TLS_CLIENT_CA_FILE)' : ''}`);
    }
  }

  async authenticate(headers: IncomingHttpHeaders, _transport: TransportKind, peer?: AgentPeer): Promise<AgentAuthResult> {
    if (peer?.certificateVerified) return { ok: true };
    if (this.config.auth.agentAuth === 'none') return { ok: true };
    const header = headers.authorization;
    const alternative = this.config.tls.clientCaFile ? ' (or present a client certificate)' : '';
    if (!header) return { ok: false, status: 401, message: `Missing credentials: send Authorization: Bearer <enrollment token>${alternative}.` };
    const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(String(header));
    if (!m) return { ok: false, status: 401, message: `The Authorization header must be "Bearer <enrollment token>"${alternative}.` };
    let check;
    try {
      check = await this.tokens.check(m[1]);
    } catch (err) {
      // An outage is not the agent's fault: tell it to come back, not that its token is wrong.
      if (isDatabaseUnavailable(err)) return credentialsUncheckable(this.config.opamp.retryAfterSeconds);
      throw err;
    }
    if (!check.ok) return { ok: false, status: 401, message: check.message };
    // The token itself goes back to the agent as the header of the own-metrics offer (telemetry module).
    return { ok: true, labels: Object.keys(check.labels).length ? check.labels : undefined, bearer: m[1] };
  }
}
