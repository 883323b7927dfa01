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
