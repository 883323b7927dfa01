import { Body, Controller, Delete, Get, Param, Post, Put, Query, Req, UnsupportedMediaTypeException } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, resourceList } from '../common/resource-list';
import { AGENT_PACKAGE_SCHEMA, ApiHeadersTooLargeResponse, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, listSchema } from '../common/openapi';
import { AgentPackageManifestDto } from './agent-package-manifest.dto';
import {
  AgentPackageFileParam,
  AgentPackageIdParam,
  AgentPackagePageQuery,
  IncludeDeletedPackageQuery,
  UploadPackageFileQuery,
} from './agent-package-requests.dto';
import { toAgentPackageResource } from './agent-package.mapper';
import { AgentPackagesService } from './agent-packages.service';
import { PACKAGE_UPLOAD_MEDIA_TYPE } from './package-upload-body';

/** The package catalogue: `/api/v1/packages`, one resource per version, named NAME@VERSION. */
@ApiTags('packages')
@Controller('packages')
export class AgentPackagesController {
  constructor(private readonly packages: AgentPackagesService) {}

  @Post()
  @ApiOperation({
    summary: 'Create a package version (NAME@VERSION), optionally with files at external https URLs',
    description: 'A version is immutable: its type and what it says of each file never change (409 for an existing or deleted NAME@VERSION).',
  })
  @ApiSignedIn('operator')
  @ApiJsonResponse(201, AGENT_PACKAGE_SCHEMA, 'Created')
  @ApiProblemResponses(400, 409, 503)
  async create(@Body() m: AgentPackageManifestDto) {
    return toAgentPackageResource(
      await this.packages.create({ id: m.metadata.name, type: m.spec?.type, description: m.spec?.description, files: m.spec?.files }),
    );
  }

  @Get()
  @ApiOperation({ summary: 'List package versions in NAME@VERSION order, a page at a time (limit + continue); `package=` lists one package' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, listSchema('AgentPackageList', AGENT_PACKAGE_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: AgentPackagePageQuery) {
    const { items, remaining } = await this.packages.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue), q.includeDeleted, q.package);
    return resourceList('AgentPackageList', items.map(toAgentPackageResource), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One package version' })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, AGENT_PACKAGE_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async get(@Param() p: AgentPackageIdParam, @Query() q: IncludeDeletedPackageQuery) {
    return toAgentPackageResource(await this.packages.get(p.name, q.includeDeleted));
  }

  @Put(':name/files/:file')
  @ApiConsumes(PACKAGE_UPLOAD_MEDIA_TYPE)
  @ApiBody({ description: "The file's bytes, streamed", schema: { type: 'string', format: 'binary' } })
  @ApiOperation({
    summary: 'Upload a file of a package version (creating the version when it does not exist)',
    description:
      'The body (application/octet-stream) is streamed into the database. Refused, with nothing stored: over PACKAGE_MAX_FILE_BYTES (413), ' +
      'a `sha256` that does not match the bytes (400), a signature that does not verify (400), a `sigstoreBundle` that is not a bundle, ' +
      'is for other bytes, does not verify against the trusted root or names another signer, or that this server is not configured to verify (400), ' +
      'a bad file name (400), ' +
      'a file name or platform the version already has, or a different type (409).',
  })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_PACKAGE_SCHEMA, 'Stored; the version with its files')
  @ApiProblemResponses(400, 404, 409, 413, 415, 503)
  @ApiHeadersTooLargeResponse('a Sigstore bundle too large for the query')
  async upload(@Param() p: AgentPackageFileParam, @Query() q: UploadPackageFileQuery, @Req() req: FastifyRequest) {
    const media = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      .trim()
      .toLowerCase();
    const body = req.body;
    if (body !== undefined && body !== null && !(body instanceof Readable)) {
      throw new UnsupportedMediaTypeException(`a package file is uploaded as ${PACKAGE_UPLOAD_MEDIA_TYPE}, not ${media || 'this body'}`);
    }
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const stored = await this.packages.upload(
      {
        id: p.name,
        file: p.file,
        platform: q.platform,
        type: q.type,
        sha256: q.sha256,
        signature: q.signature,
        sigstoreBundle: q.sigstoreBundle,
        contentLength: length,
      },
      body ?? Readable.from([]),
    );
    return toAgentPackageResource(stored);
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Soft-delete a package version: never offered or downloadable again, its stored bytes removed, its NAME@VERSION never reused' })
  @ApiSignedIn('operator')
  @ApiJsonResponse(200, AGENT_PACKAGE_SCHEMA, 'Deleted; the version as it was')
  @ApiProblemResponses(400, 404, 409, 503)
  async delete(@Param() p: AgentPackageIdParam) {
    return toAgentPackageResource(await this.packages.delete(p.name));
  }
}
