import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { InvalidError } from '../common/domain-errors';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn } from '../common/openapi';
import { MAX_SELECTOR_KEY_LENGTH, SELECTOR_KEY_PATTERN } from '../common/selectors/label-selector';
import { AgentFacets, MAX_FACET_VALUES } from './agent-facets';

/**
 * The fleet's label and attribute keys and how many agents have each value of one key, under
 * /fleet (not /agents/…, where every name is an agent's uid).
 */
@ApiTags('agents')
@Controller('fleet')
export class AgentFacetsController {
  constructor(private readonly facets: AgentFacets) {}

  @Get('keys')
  @ApiOperation({
    summary: 'The label and attribute keys agents have (for completing selectors)',
    description: 'From the selector terms of the agents, read again at most every 10 s: a key new in the fleet may take that long to appear.',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['keys'],
    properties: {
      keys: { type: 'array', items: { type: 'string' }, description: 'Sorted; server-side labels and identifying and non-identifying attributes' },
    },
  })
  @ApiProblemResponses(503)
  async keys() {
    return { keys: await this.facets.keys() };
  }

  @Get('facets')
  @ApiOperation({
    summary: 'How many agents have each value of one key (e.g. service.version, os.type), most first',
    description: `Each count is an indexed count (kept 10 s). At most ${MAX_FACET_VALUES} values are counted; \`truncated\` says a key has more.`,
  })
  @ApiQuery({
    name: 'key',
    required: true,
    schema: { type: 'string', minLength: 1, maxLength: MAX_SELECTOR_KEY_LENGTH, pattern: SELECTOR_KEY_PATTERN.source },
    example: 'service.version',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, {
    type: 'object',
    required: ['key', 'values', 'truncated'],
    properties: {
      key: { type: 'string' },
      values: {
        type: 'array',
        items: { type: 'object', required: ['value', 'count'], properties: { value: { type: 'string' }, count: { type: 'integer', minimum: 1 } } },
      },
      truncated: { type: 'boolean' },
    },
  })
  @ApiProblemResponses(400, 503)
  facet(@Query('key') key: unknown) {
    if (typeof key !== 'string' || !key)
      throw new InvalidError('key is required (a label or attribute key such as service.version)', { errors: [{ field: 'key', message: 'required' }] });
    return this.facets.facet(key);
  }
}
