import { STATUS_CODES } from 'node:http';

/** An RFC 9457 problem document, the shape of every error answer of the API. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** For validation errors: each offending field and what is wrong with it. */
  errors?: { field: string; message: string }[];
  [extra: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types are URNs of this project; plain HTTP failures use about:blank (RFC 9457 §4.2.1). */
export function problemType(status: number, kind?: string): string {
  return kind ? `urn:opamp-commander:problem:${kind}` : 'about:blank';
}

export function makeProblem(status: number, detail: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  return {
    type: extra.type ?? problemType(status),
    title: extra.title ?? STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    ...extra,
  };
}
