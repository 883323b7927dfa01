import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One field of a refused request and what is wrong with it. */
export class FieldProblemDto {
  @ApiProperty({ example: 'metadata.name' })
  field: string;

  @ApiProperty({ example: 'must be a DNS-1123 label' })
  message: string;
}

/** RFC 9457 problem document: the body of every error answer (`application/problem+json`). */
export class ProblemDetailsDto {
  @ApiProperty({ description: '`about:blank` or a `urn:opamp-commander:problem:…` URN', example: 'about:blank' })
  type: string;

  @ApiProperty({ example: 'Bad Request' })
  title: string;

  @ApiProperty({ minimum: 400, maximum: 599, example: 400 })
  status: number;

  @ApiProperty({ description: 'What went wrong, in words' })
  detail: string;

  @ApiPropertyOptional({ description: 'The request path' })
  instance?: string;

  @ApiPropertyOptional({ type: [FieldProblemDto], description: 'For a refused request: each offending field' })
  errors?: FieldProblemDto[];
}
