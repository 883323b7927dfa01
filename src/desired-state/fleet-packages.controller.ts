import { Controller, Get, Optional, Param } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AgentsService } from '../agents/agents.service';
import { InvalidError, NotFoundError } from '../common/domain-errors';
import { ApiJsonResponse, ApiProblemResponses, ApiSignedIn, FLEET_PACKAGE_SCHEMA, FLEET_PACKAGES_SCHEMA } from '../common/openapi';
import { DNS_LABEL_MAX_LENGTH, DNS_LABEL_PATTERN, isDnsLabel } from '../common/resource-name';
import { PackageCatalogue } from '../packages/package-catalogue';
import { FleetPackageCounts, fleetPackageCounts, parsePackageTerm } from './fleet-packages';

/**
 * What runs where, fleet-wide (issue 21): per package, how many agents run each version and are
 * in each status. Every figure is the count of one indexed package term on the agents
 * (`pkg:NAME@VERSION`, …), never a read of agent documents.
 */
@ApiTags('packages')
@Controller('fleet/packages')
export class FleetPackagesController {
  constructor(
    private readonly agents: AgentsService,
    @Optional() private readonly catalogue?: PackageCatalogue,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Every package agents report: how many run each version, how many are in each status, how many are behind the newest catalogued version',
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, FLEET_PACKAGES_SCHEMA)
  @ApiProblemResponses(503)
  async list() {
    return { kind: 'FleetPackageList', apiVersion: 'v1', items: await this.counts(await this.agents.packageTermsInUse()) };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One package across the fleet: agents per version and per status, and against the newest catalogued version' })
  @ApiParam({
    name: 'name',
    description: 'Package name (a DNS label)',
    schema: { type: 'string', pattern: DNS_LABEL_PATTERN.source, maxLength: DNS_LABEL_MAX_LENGTH },
  })
  @ApiSignedIn('viewer')
  @ApiJsonResponse(200, FLEET_PACKAGE_SCHEMA)
  @ApiProblemResponses(400, 404, 503)
  async one(@Param('name') name: string) {
    if (!isDnsLabel(name))
      throw new InvalidError(`name must be a package name (a DNS label), got "${String(name).slice(0, 64)}"`, {
        errors: [{ field: 'name', message: 'not a DNS label' }],
      });
    const terms = (await this.agents.packageTermsInUse()).filter((t) => parsePackageTerm(t)?.name === name);
    const catalogued = (await this.catalogue?.versions(name)) ?? [];
    if (terms.length === 0 && catalogued.length === 0) throw new NotFoundError(`no agent reports package "${name}" and the catalogue has none of that name`);
    const [status] = await this.counts(terms.length ? terms : [`pkg:${name}`]);
    const empty: FleetPackageCounts = {
      name,
      agents: 0,
      versions: [],
      statuses: {},
      ...(catalogued[0] ? { latest: catalogued[0].version, behindLatest: 0 } : {}),
    };
    return { kind: 'FleetPackage', apiVersion: 'v1', metadata: { name }, status: status ?? empty };
  }

  private async counts(terms: string[]): Promise<FleetPackageCounts[]> {
    const counts = await this.agents.countPackageTerms(terms);
    const names = [...new Set(terms.map((t) => parsePackageTerm(t)?.name).filter((n): n is string => !!n))];
    const latest = new Map<string, string | undefined>();
    if (this.catalogue) for (const n of names) latest.set(n, (await this.catalogue.versions(n))[0]?.version);
    return fleetPackageCounts(counts, latest);
  }
}
