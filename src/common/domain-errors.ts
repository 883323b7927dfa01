/**
 * Errors the domain raises; the global filter maps each to its HTTP status so services never
 * import HTTP types.
 */
export class DomainError extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
export class NotFoundError extends DomainError {}
export class ConflictError extends DomainError {}
export class InvalidError extends DomainError {}
/** The request's body is larger than the server takes: 413, and the connection is closed (the rest of the body is not read). */
export class TooLargeError extends DomainError {}
/** No valid credential (missing, malformed, wrong, expired, revoked): 401 with a challenge. */
export class UnauthorizedError extends DomainError {
  /** The WWW-Authenticate challenge sent with the 401. */
  challenge = 'Bearer';
}
/** A valid credential without the right to do this: 403. */
export class ForbiddenError extends DomainError {}
/** Too many attempts: 429 with Retry-After. */
export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** A part the request needs is down for now (the event bus between replicas): 503 with Retry-After. */
export class UnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
