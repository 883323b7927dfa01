/** Errors of opampctl and how each becomes one line on stderr and an exit code (0 ok, 1 error, 2 usage). */

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A failure the user should read as one line; exit code 1. */
export class CliError extends Error {
  readonly exitCode: number = EXIT_ERROR;
}

/** The command line itself is wrong (bad flag value, missing argument); exit code 2. */
export class UsageError extends CliError {
  override readonly exitCode = EXIT_USAGE;
}

/** The server could not be reached, or did not answer in time. */
export class NetworkError extends CliError {}

/** An RFC 9457 problem document as the server sends it (fields are optional: a proxy may answer anything). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { field?: string; message?: string }[];
  [extra: string]: unknown;
}

/** The server answered with an error status; `note` is what the command adds (where the user's edits are kept). */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly statusText = '',
    note = '',
  ) {
    super(`${formatProblem(status, problem, statusText)}${note}`);
  }
}

/** Collapses whitespace so a message spanning lines prints as one. */
export function oneLine(text: string, max = 500): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * One readable line from a problem document, kubectl-like:
 * `Error from server (409 Conflict): remote config x is used by agent group y`. Field errors are
 * appended unless the detail already names them.
 */
export function formatProblem(status: number, problem: Problem, statusText = ''): string {
  const title = problem.title || statusText || 'Error';
  let detail = problem.detail ? String(problem.detail) : '';
  const fields = (problem.errors ?? [])
    .filter((e) => e && (e.field || e.message))
    .map((e) => (e.field ? `${e.field}: ${e.message ?? 'invalid'}` : String(e.message)))
    .filter((text) => !detail.includes(text));
  if (fields.length) detail = detail ? `${detail} (${fields.join('; ')})` : fields.join('; ');
  return oneLine(`Error from server (${status} ${title})${detail && detail !== title ? `: ${detail}` : ''}`);
}

/** The line printed for any error that reaches the top level. */
export function errorLine(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof CliError) return `error: ${oneLine(err.message)}`;
  if (err instanceof Error) return `error: ${oneLine(err.message)}`;
  return `error: ${oneLine(String(err))}`;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : EXIT_ERROR;
}

/** Network failures from fetch carry the useful part in `cause` (ECONNREFUSED, ENOTFOUND, a timeout). */
export function describeFetchFailure(err: unknown, server: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `the server at ${server} did not answer in time`;
  const cause = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return `cannot reach the server at ${server}: ${cause}`;
}
