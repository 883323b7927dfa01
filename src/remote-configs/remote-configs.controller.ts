import { Body, Controller, Delete, Get, Header, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { InvalidError } from '../common/domain-errors';
import { decodeNumberCursor, decodeStringCursor, DEFAULT_PAGE_SIZE, ResourcePageQuery, resourceList } from '../common/resource-list';
import { RemoteConfigManifestDto } from './remote-config-manifest.dto';
import {
  ChangeMessageQuery,
  DiffQuery,
  IncludeDeletedQuery,
  RemoteConfigNameParam,
  RevisionPageQuery,
  RevisionParam,
  RollbackRemoteConfigDto,
} from './remote-config-requests.dto';
import { toRemoteConfigResource, toRevisionResource } from './remote-config-resource.mapper';
import { RemoteConfigsService } from './remote-configs.service';
import { RequestAuthor } from './request-author.decorator';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn, ApiTextResponse, listSchema, REMOTE_CONFIG_SCHEMA, REVISION_SCHEMA } from '../common/openapi';

/** Remote configurations and their revisions: `/api/v1/remoteconfigs`. */
@ApiTags('remoteconfigs')
@Controller('remoteconfigs')
export class RemoteConfigsController {
  constructor(private readonly configs: RemoteConfigsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a remote config (its revision 1); `?message=` is recorded on the revision' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(201, REMOTE_CONFIG_SCHEMA, 'Created')
  @ApiProblemResponses(400, 409, 503)
  async create(@Body() m: RemoteConfigManifestDto, @Query() q: ChangeMessageQuery, @RequestAuthor() author: string) {
    const created = await this.configs.create(m.metadata.name, m.spec, { author, message: q.message });
    return toRemoteConfigResource(created);
  }

  @Get()
  @ApiOperation({ summary: 'List remote configs in name order, a page at a time (limit + continue)' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('RemoteConfigList', REMOTE_CONFIG_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: ResourcePageQuery) {
    const { items, remaining } = await this.configs.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue), q.includeDeleted);
    return resourceList('RemoteConfigList', items.map(toRemoteConfigResource), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One remote config with its latest content' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, REMOTE_CONFIG_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param() p: RemoteConfigNameParam, @Query() q: IncludeDeletedQuery) {
    return toRemoteConfigResource(await this.configs.get(p.name, q.includeDeleted));
  }

  @Put(':name')
  @ApiOperation({
    summary: 'Replace a remote config',
    description: 'metadata.resourceVersion must be the current one (409 otherwise). A new revision is made only when contentType or body change.',
  })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, REMOTE_CONFIG_SCHEMA)
  @ApiProblemResponses(400, 404, 409, 503)
  async replace(@Param() p: RemoteConfigNameParam, @Body() m: RemoteConfigManifestDto, @Query() q: ChangeMessageQuery, @RequestAuthor() author: string) {
    if (m.metadata.name !== p.name) {
      throw new InvalidError(`metadata.name "${m.metadata.name}" does not match the name in the path, "${p.name}"`, {
        errors: [{ field: 'metadata.name', message: 'must match the name in the path' }],
      });
    }
    if (m.metadata.resourceVersion === undefined) {
      throw new InvalidError('metadata.resourceVersion is required to replace a remote config', {
        errors: [{ field: 'metadata.resourceVersion', message: 'is required' }],
      });
    }
    return toRemoteConfigResource(await this.configs.replace(p.name, m.metadata.resourceVersion, m.spec, { author, message: q.message }));
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Soft-delete a remote config (409 while an agent group uses it); its history is kept' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, REMOTE_CONFIG_SCHEMA, 'Deleted; the resource as it was')
  @ApiProblemResponses(400, 404, 409, 503)
  async delete(@Param() p: RemoteConfigNameParam) {
    return toRemoteConfigResource(await this.configs.delete(p.name));
  }

  @Get(':name/revisions')
  @ApiOperation({ summary: 'History of a remote config, newest first, a page at a time (bodies left out)' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('RemoteConfigRevisionList', REVISION_SCHEMA))
  @ApiProblemResponses(400, 404, 503)
  async revisions(@Param() p: RemoteConfigNameParam, @Query() q: RevisionPageQuery) {
    const { items, remaining } = await this.configs.listRevisions(p.name, q.limit ?? DEFAULT_PAGE_SIZE, decodeNumberCursor(q.continue), q.includeDeleted);
    return resourceList(
      'RemoteConfigRevisionList',
      items.map((r) => toRevisionResource(p.name, r, false)),
      remaining,
      items[items.length - 1]?.revision,
    );
  }

  @Get(':name/revisions/:revision')
  @ApiOperation({ summary: 'One revision (a number, or `latest`) with its body' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, REVISION_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async revision(@Param() p: RevisionParam, @Query() q: IncludeDeletedQuery) {
    const r = await this.configs.findRevision(p.name, p.revision === 'latest' ? 'latest' : Number(p.revision), q.includeDeleted);
    return toRevisionResource(p.name, r);
  }

  @Get(':name/diff')
  @Header('content-type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Unified diff of the bodies of two revisions (default: the latest against the one before)' })
  @ApiSignedIn('viewer')
  @ApiTextResponse(200, 'A unified diff (empty when the bodies are equal)')
  @ApiProblemResponses(400, 404, 503)
  async diff(@Param() p: RemoteConfigNameParam, @Query() q: DiffQuery) {
    return this.configs.diff(p.name, q.from, q.to, q.context, q.includeDeleted);
  }

  @Post(':name/rollback')
  @HttpCode(200)
  @ApiBody({ type: RollbackRemoteConfigDto })
  @ApiOperation({ summary: 'Make a new revision equal to an older one (nothing changes when the latest already equals it)' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, REMOTE_CONFIG_SCHEMA)
  @ApiProblemResponses(400, 404, 409, 503)
  async rollback(@Param() p: RemoteConfigNameParam, @Body() b: RollbackRemoteConfigDto, @RequestAuthor() author: string) {
    return toRemoteConfigResource(await this.configs.rollback(p.name, b.revision, { author, message: b.message }, b.resourceVersion));
  }
}
