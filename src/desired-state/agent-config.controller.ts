import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { agentUidParam } from '../agents/agents.controller';
import { toAgentResource } from '../agents/agent-resource.mapper';
import { AgentsService } from '../agents/agents.service';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import { isTextContentType } from '../agents/agent-resource.mapper';
import { findConfigSyntaxProblem } from '../remote-configs/config-body-syntax';
import { RemoteConfigsService } from '../remote-configs/remote-configs.service';
import { UpdateAgentConfigDto } from './agent-config.dto';
import { DesiredStateService, isProblem } from './desired-state.service';
import { AGENT_SCHEMA, ApiInstanceUidParam, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, DESIRED_CONFIG_SCHEMA } from '../common/openapi';

/** An agent's configuration: what it should run (preview) and its own assignment. */
@ApiTags('agents')
@Controller('agents')
export class AgentConfigController {
  constructor(
    private readonly agents: AgentsService,
    private readonly desired: DesiredStateService,
    private readonly remoteConfigs: RemoteConfigsService,
  ) {}

  @Get(':instanceUid/desired-config')
  @ApiOperation({ summary: 'The exact config map this agent should run, its hash, and where each entry comes from' })
  @ApiInstanceUidParam()
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, DESIRED_CONFIG_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async desiredConfig(@Param('instanceUid') instanceUid: string) {
    const uid = agentUidParam(instanceUid);
    const agent = await this.agents.findOne(uid);
    if (!agent) throw new NotFoundError(`agent ${uid} not found`);
    const d = await this.desired.configFor(agent);
    const acceptsRemoteConfig = ((agent.capabilities ?? 0) & 0x2) !== 0;
    const base = { kind: 'DesiredConfig', apiVersion: 'v1', metadata: { name: uid }, acceptsRemoteConfig, delivery: agent.remoteConfig ?? undefined };
    if (!d) return { ...base, assigned: false };
    if (isProblem(d)) return { ...base, assigned: true, origin: d.origin, error: d.error };
    return {
      ...base,
      assigned: true,
      origin: d.origin,
      hash: d.hashHex,
      configMap: Object.fromEntries(
        d.entries.map((e) => [
          e.fileName,
          {
            contentType: e.contentType,
            ...(isTextContentType(e.contentType) ? { body: e.body.toString('utf8') } : { bodyBase64: e.body.toString('base64') }),
            source: e.source,
          },
        ]),
      ),
    };
  }

  @Put(':instanceUid/update-agent-config')
  @ApiOperation({ summary: "Set (or clear, with no entries) this agent's own configuration, which overrides its group's" })
  @ApiInstanceUidParam()
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async update(@Param('instanceUid') instanceUid: string, @Body() body: UpdateAgentConfigDto) {
    const uid = agentUidParam(instanceUid);
    const configs = body.configs ?? [];
    const files = body.files ?? [];
    const errors: { field: string; message: string }[] = [];
    const seen = new Set<string>();
    [...configs.map((c, i) => [c.fileName, `configs[${i}].fileName`]), ...files.map((f, i) => [f.fileName, `files[${i}].fileName`])].forEach(
      ([name, field]) => {
        if (seen.has(name)) errors.push({ field, message: `file name "${name}" is used twice` });
        seen.add(name);
      },
    );
    for (const [i, c] of configs.entries()) {
      try {
        await this.remoteConfigs.getRevision(c.remoteConfig, c.revision ?? 'latest');
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        errors.push({ field: `configs[${i}]`, message: err.message });
      }
    }
    for (const [i, f] of files.entries()) {
      const p = findConfigSyntaxProblem(f.contentType, f.body);
      if (p) errors.push({ field: `files[${i}].body`, message: `${p.syntax} syntax error at line ${p.line}, column ${p.column}: ${p.message}` });
    }
    if (errors.length) throw new InvalidError(`Invalid agent config: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, { errors });
    const assignment =
      configs.length || files.length
        ? {
            configs: configs.map((c) => ({ fileName: c.fileName, remoteConfig: c.remoteConfig, ...(c.revision ? { revision: c.revision } : {}) })),
            files,
            assignedAt: new Date(),
          }
        : undefined;
    const agent = await this.agents.assignConfig(uid, assignment);
    return toAgentResource(agent, this.agents.httpSilenceCutoff());
  }
}
