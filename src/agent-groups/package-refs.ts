import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';
import type { PackageRef } from '../agents/agent-package-assignment';
import { IsResourceName } from '../common/resource-name';
import type { PackageCatalogue } from '../packages/package-catalogue';
import type { FieldProblem } from './config-refs';

/** A version as the catalogue names them (semver's alphabet plus `_`, no `/` or `@`). */
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$/;

/** The most packages one group (or one agent) may name. */
export const MAX_PACKAGE_REFS = 32;

/** One entry of `spec.packages` (a group's) or of an agent's own packages. */
export class PackageRefDto {
  @IsResourceName('Name of the package in the catalogue (GET /api/v1/packages)')
  name: string;

  @ApiProperty({ description: 'A version catalogued for the package (compared in semantic-version order)', example: '1.2.0' })
  @IsString()
  @MaxLength(64)
  version: string;

  @ApiPropertyOptional({
    description: 'Offer this version even to agents that run a newer one (a downgrade; audited). Without it, offers are forward-only.',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  force?: boolean;
}

/**
 * Package references as stored, and what is wrong with them: a version that is no version, a
 * name given twice, a version the catalogue does not hold. One rule for a group's
 * `spec.packages` and an agent's own packages; `field` is where they sit (`spec.packages`).
 */
export async function checkPackageRefs(
  input: readonly PackageRef[],
  catalogue: Pick<PackageCatalogue, 'find'> | undefined,
  field: string,
): Promise<{ packages: PackageRef[]; problems: FieldProblem[] }> {
  const packages: PackageRef[] = input.map((p) => ({ name: p.name, version: p.version, ...(p.force ? { force: true } : {}) }));
  const problems: FieldProblem[] = [];
  const seen = new Map<string, number>();
  packages.forEach((p, i) => {
    const first = seen.get(p.name);
    if (first !== undefined) problems.push({ field: `${field}[${i}].name`, message: `package "${p.name}" is named twice (also ${field}[${first}])` });
    else seen.set(p.name, i);
    if (!VERSION_PATTERN.test(p.version))
      problems.push({ field: `${field}[${i}].version`, message: `"${p.version}" is not a version such as 1.2.0 (letters, digits, ".", "_", "+", "-")` });
  });
  if (packages.length && !catalogue) problems.push({ field, message: 'the package catalogue is not available on this server' });
  if (catalogue && problems.length === 0) {
    const found = await Promise.all(packages.map((p) => catalogue.find(p.name, p.version)));
    found.forEach((f, i) => {
      if (!f) problems.push({ field: `${field}[${i}]`, message: `package "${packages[i].name}" has no version ${packages[i].version} in the catalogue` });
    });
  }
  return { packages, problems };
}

/** An optional list of package refs in a manifest (a group's packages, a rollout's): documented, bounded, each checked. */
export function IsPackageRefList(description: string, extra: { default?: unknown[] } = {}): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: [PackageRefDto], description, ...extra }),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_PACKAGE_REFS),
    ValidateNested({ each: true }),
    Type(() => PackageRefDto),
  );
}
