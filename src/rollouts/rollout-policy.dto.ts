import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, Max, Min, ValidateNested } from 'class-validator';

/*
 * How a rollout goes: its stages, how long an agent may take to apply, its gates and what a
 * tripped gate does. A Rollout's spec has these fields besides its target and configs; an agent
 * group's `spec.rolloutPolicy` has them alone (a change of the group's configs then goes out as a
 * rollout of this shape). Kept apart from the Rollout manifest so agent groups can use it.
 */

export const MAX_STAGES = 20;
export const MAX_BAKE_SECONDS = 7 * 86400;
/** Control-plane gates (what the agents report over OpAMP), then data-plane ones (their own telemetry's conditions). */
export const GATE_METRICS = ['applyFailed', 'disconnected', 'unhealthy', 'effectiveMismatch', 'idle', 'exportFailing', 'restarting', 'noTelemetry'] as const;

export class RolloutGateDto {
  @ApiProperty({
    enum: GATE_METRICS,
    description:
      'applyFailed, disconnected, unhealthy, effectiveMismatch: from OpAMP. idle, exportFailing, restarting, noTelemetry: the agent conditions Idle, ExportFailing, Restarting and Stale from its own telemetry (agents for which the condition is Unknown are not judged).',
  })
  @IsIn(GATE_METRICS)
  metric: (typeof GATE_METRICS)[number];

  @ApiProperty({ minimum: 0, maximum: 1, description: 'Largest share of the reached agents allowed to show the problem' })
  @IsNumber()
  @Min(0)
  @Max(1)
  maxRatio: number;

  @ApiPropertyOptional({ description: 'Compare with the agents not yet reached: trip only when the share exceeds theirs by more than maxRatio' })
  @IsOptional()
  @IsBoolean()
  vsControl?: boolean;
}

export class RolloutPolicyDto {
  @ApiProperty({
    description: 'Cumulative stages: ["1", "25%", "100%"], objects {stage, selector, bakeSeconds, approval}, or {initial, multiplier}',
    oneOf: [
      {
        type: 'array',
        minItems: 1,
        maxItems: MAX_STAGES,
        items: { description: 'A count ("1"), a percentage ("25%"), or {stage, selector, bakeSeconds, approval}' },
      },
      {
        type: 'object',
        required: ['initial', 'multiplier'],
        additionalProperties: false,
        properties: {
          initial: { type: 'integer', minimum: 1 },
          multiplier: { type: 'number', minimum: 1, exclusiveMinimum: true, maximum: 1000 },
          bakeSeconds: { type: 'integer', minimum: 0, maximum: MAX_BAKE_SECONDS },
        },
      },
    ],
  })
  // Checked by the service (parseRolloutStages), which names each field it refuses.
  @Allow()
  stages: unknown;

  @ApiPropertyOptional({
    default: 300,
    minimum: 1,
    maximum: 86400,
    description: 'An agent of a stage that has not reported APPLIED or FAILED by then counts as FAILED',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(86400)
  applyTimeoutSeconds?: number;

  @ApiPropertyOptional({ type: [RolloutGateDto], description: 'Default: applyFailed with maxRatio 0' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(8)
  @ValidateNested({ each: true })
  @Type(() => RolloutGateDto)
  gates?: RolloutGateDto[];

  @ApiPropertyOptional({ enum: ['rollback', 'pause'], default: 'rollback' })
  @IsOptional()
  @IsIn(['rollback', 'pause'])
  onGateTrip?: 'rollback' | 'pause';
}
