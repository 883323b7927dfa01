import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, PageQuery, resourceList } from '../common/resource-list';
import { Roles } from './roles.decorator';
import { AuthenticatedUser } from './user.schema';
import { CreateUserDto, PatchUserDto } from './user-manifest.dto';
import { toUserResource } from './user.mapper';
import { UsersService } from './users.service';
import { ApiEmptyResponse, ApiJsonResponse, ApiProblemResponses, ApiSignedIn, listSchema, USER_SCHEMA } from '../common/openapi';

const USER_NAME_PARAM = { name: 'name', description: 'User name', schema: { type: 'string' as const } };

/** Users of the API: `/api/v1/users`, admins only. */
@ApiTags('users')
@ApiSignedIn('admin')
@Roles('admin')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user with a role, and a password and/or a GitHub login' })
  @ApiJsonResponse(201, USER_SCHEMA, 'Created')
  @ApiProblemResponses(400, 409, 503)
  async create(@Body() m: CreateUserDto) {
    return toUserResource(await this.users.create(m.metadata.name, m.spec));
  }

  @Get()
  @ApiOperation({ summary: 'List users in name order, a page at a time (limit + continue)' })
  @ApiJsonResponse(200, listSchema('UserList', USER_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: PageQuery) {
    const { items, remaining } = await this.users.list(q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue));
    return resourceList('UserList', items.map(toUserResource), remaining, items[items.length - 1]?._id);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One user' })
  @ApiParam(USER_NAME_PARAM)
  @ApiJsonResponse(200, USER_SCHEMA)
  @ApiProblemResponses(404, 503)
  async get(@Param('name') name: string) {
    return toUserResource(await this.users.get(name));
  }

  @Patch(':name')
  @ApiOperation({ summary: "Change role, password, GitHub login or disabled (a new password or disabling ends the user's sessions)" })
  @ApiParam(USER_NAME_PARAM)
  @ApiJsonResponse(200, USER_SCHEMA)
  @ApiProblemResponses(400, 404, 409, 503)
  async patch(@Param('name') name: string, @Body() body: PatchUserDto, @Req() req: { user: AuthenticatedUser }) {
    return toUserResource(await this.users.update(name, body.spec, req.user.username));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user and end their sessions (not yourself, not the last admin)' })
  @ApiParam(USER_NAME_PARAM)
  @ApiEmptyResponse(204, 'Deleted')
  @ApiProblemResponses(404, 409, 503)
  async delete(@Param('name') name: string, @Req() req: { user: AuthenticatedUser }): Promise<void> {
    await this.users.delete(name, req.user.username);
  }
}
