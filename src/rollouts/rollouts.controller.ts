import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { InvalidError } from '../common/domain-errors';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, PageQuery, resourceList } from '../common/resource-list';
import { ApiJsonResponse, ApiProblemResponses, ApiProblemResponsesWith, ApiSignedIn, listSchema, ROLLOUT_SCHEMA } from '../common/openapi';
import { RequestAuthor } from '../remote-configs/request-author.decorator';
import { RolloutManifestDto, RolloutNameParam } from './rollout-manifest.dto';
import { toRolloutResource } from './rollout.mapper';
import { RolloutAction, RolloutsService } from './rollouts.service';

/** Staged rollouts of a group's config: `/api/v1/rollouts`. */
@ApiTags('rollouts')
@Controller('rollouts')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a rollout; the controller starts it within a second' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(201, ROLLOUT_SCHEMA, 'Created')
  @ApiProblemResponsesWith(
    {
      400: 'Not valid (`errors` names each field): also when the target group or a remote config does not exist, or stages are out of order',
      409: 'The name is in use, or the group already has a rollout in progress or aborted',
    },
    400,
    409,
    503,
  )
  async create(@Body() m: RolloutManifestDto) {
    return toRolloutResource(await this.rollouts.create(m));
  }

  @Get()
  @ApiOperation({ summary: 'List rollouts in name order, a page at a time (limit + continue)' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('RolloutList', ROLLOUT_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: PageQuery) {
    const { items, remaining } = await this.rollouts.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue));
    return resourceList('RolloutList', items.map(toRolloutResource), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One rollout with its phase, stage, counts, gate results and conditions' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param() p: RolloutNameParam) {
    return toRolloutResource(await this.rollouts.get(p.name));
  }

  @Put(':name')
  @ApiOperation({ summary: 'Replace a rollout that has not started (an identical replace is accepted at any time)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'A stale resourceVersion, the rollout has started, or the group has another rollout' }, 400, 404, 409, 503)
  async replace(@Param() p: RolloutNameParam, @Body() m: RolloutManifestDto) {
    if (m.metadata.name !== p.name) {
      throw new InvalidError(`metadata.name "${m.metadata.name}" does not match the name in the path, "${p.name}"`, {
        errors: [{ field: 'metadata.name', message: 'must match the name in the path' }],
      });
    }
    if (m.metadata.resourceVersion === undefined) {
      throw new InvalidError('metadata.resourceVersion is required to replace a rollout', {
        errors: [{ field: 'metadata.resourceVersion', message: 'is required' }],
      });
    }
    return toRolloutResource(await this.rollouts.replace(p.name, m.metadata.resourceVersion, m));
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Delete a rollout that no longer drives agents (abort or undo one in progress first)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA, 'Deleted; the resource as it was')
  @ApiProblemResponsesWith({ 409: 'The rollout is in progress or paused: abort or undo it first' }, 400, 404, 409, 503)
  async delete(@Param() p: RolloutNameParam) {
    return toRolloutResource(await this.rollouts.delete(p.name));
  }

  private act(name: string, action: RolloutAction, author: string) {
    return this.rollouts.act(name, action, author).then(toRolloutResource);
  }

  @Post(':name/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop moving to further agents; the agents reached keep the new config' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is in a phase this action does not apply to' }, 400, 404, 409, 503)
  pause(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'pause', a);
  }

  @Post(':name/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Go on from where a paused rollout stopped' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is in a phase this action does not apply to' }, 400, 404, 409, 503)
  resume(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'resume', a);
  }

  @Post(':name/approve')
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve the current stage (one with approval: true waits for this)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is in a phase this action does not apply to' }, 400, 404, 409, 503)
  approve(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'approve', a);
  }

  @Post(':name/abort')
  @HttpCode(200)
  @ApiOperation({ summary: 'Stop for good and leave agents as they are (the reached ones keep the new config until the rollout is deleted)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is in a phase this action does not apply to' }, 400, 404, 409, 503)
  abort(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'abort', a);
  }

  @Post(':name/undo')
  @HttpCode(200)
  @ApiOperation({ summary: "Roll back: the agents reached get the group's previous config again (after success, the group's previous configs are restored)" })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is in a phase this action does not apply to' }, 400, 404, 409, 503)
  undo(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'undo', a);
  }

  @Post(':name/retry')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Start a rolled-back rollout again from its first stage with the same revisions; the agents that reported its config FAILED get it again (otherwise never pushed to them twice)',
  })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, ROLLOUT_SCHEMA)
  @ApiProblemResponsesWith({ 409: 'The rollout is not RolledBack, or its group has another rollout' }, 400, 404, 409, 503)
  retry(@Param() p: RolloutNameParam, @RequestAuthor() a: string) {
    return this.act(p.name, 'retry', a);
  }
}
