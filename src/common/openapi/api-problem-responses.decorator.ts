import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { FieldProblemDto, ProblemDetailsDto } from './problem-details.dto';

/** The error statuses an operation of this API can answer, each with what it means here. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 502 | 503;

const MEANING: Record<ProblemStatus, string> = {
  400: 'The request is not valid: `errors` names each field and what is wrong with it',
  401: 'No valid credentials (a missing, expired or revoked access token; a wrong password); `WWW-Authenticate` says which scheme',
  403: 'Signed in, but the role is not enough for this operation',
  404: 'No such resource',
  405: 'The path exists, the method does not (`Allow` lists those that do)',
  409: 'The request conflicts with the current state (a stale resourceVersion, a name in use, a resource still in use, an agent not connected)',
  413: 'The request body is over the limit',
  415: 'The request body is not of a type this operation takes',
  429: 'Too many attempts from this user or address; `Retry-After` says when to try again',
  502: 'An upstream identity provider did not answer as expected',
  503: 'A dependency (the database) is unavailable; `Retry-After` says when to try again',
};

const RETRY_AFTER = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } } } as const;

/**
 * Documents problem+json answers with the given statuses (RFC 9457, ProblemDetailsDto).
 * `forbidden` overrides the meaning of 403 (for example, which role is needed).
 */
export function ApiProblemResponses(...statuses: ProblemStatus[]): MethodDecorator & ClassDecorator {
  return ApiProblemResponsesWith({}, ...statuses);
}

/** ApiProblemResponses with descriptions of its own for some statuses. */
export function ApiProblemResponsesWith(meanings: Partial<Record<ProblemStatus, string>>, ...statuses: ProblemStatus[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDetailsDto, FieldProblemDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: meanings[status] ?? MEANING[status],
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDetailsDto) } } },
        ...(status === 429 ? { headers: { 'Retry-After': { ...RETRY_AFTER['Retry-After'], required: true } } } : {}),
        ...(status === 503 ? { headers: RETRY_AFTER } : {}),
      }),
    ),
  );
}
