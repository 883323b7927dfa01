import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { decodeStringCursor, DEFAULT_PAGE_SIZE, resourceList } from '../common/resource-list';
import { AuditEvent } from './audit-event.schema';
import { AuditQuery } from './audit-query.dto';
import { AuditService } from './audit.service';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn, AUDIT_EVENT_SCHEMA, listSchema } from '../common/openapi';

function toAuditResource(e: AuditEvent) {
  return {
    kind: 'AuditEvent',
    apiVersion: 'v1',
    metadata: { name: e._id, createdAt: e.at },
    actor: e.actor,
    action: e.action,
    outcome: e.outcome,
    resource: e.resource,
    ...(e.request ? { request: e.request } : {}),
    ...(e.before !== undefined ? { before: e.before } : {}),
    ...(e.after !== undefined ? { after: e.after } : {}),
    ...(e.changes ? { changes: e.changes } : {}),
    ...(e.summary ? { summary: e.summary } : {}),
  };
}

/** The audit log: `/api/v1/audit`, newest first, for admins. */
@ApiTags('audit')
@ApiSignedIn('admin')
@Roles('admin')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'Changes made through the API and sign-in events, newest first, filtered, a page at a time (limit + continue)' })
  @ApiJsonResponse(200, listSchema('AuditEventList', AUDIT_EVENT_SCHEMA))
  @ApiProblemResponses(400, 503)
  async list(@Query() q: AuditQuery) {
    const { items, remaining } = await this.audit.list(q, q.limit ?? DEFAULT_PAGE_SIZE, decodeStringCursor(q.continue));
    return resourceList('AuditEventList', items.map(toAuditResource), remaining, items[items.length - 1]?._id);
  }
}
