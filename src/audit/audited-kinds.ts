import { Injectable } from '@nestjs/common';

/**
 * How the audit log reads one kind of resource of the API (the first path segment after
 * /api/v1): through the repository of the module that owns it, and which stored fields count.
 * Volatile fields (timestamps, connection state) are left out of the view so that before/after
 * hashes change only with what an operator changed; secrets are reduced to a digest.
 */
export interface AuditedKind<T> {
  /** The stored resource the path parameter names, or undefined when there is none. */
  read(name: string): Promise<T | undefined>;
  /** The stored resource → the fields that are audited. */
  view(stored: T): Record<string, unknown>;
}

/**
 * The kinds the audit log can snapshot. Each owning module registers its kind when it is
 * constructed, so the audit module knows no collection and no other module's model.
 */
@Injectable()
export class AuditedKinds {
  private readonly kinds = new Map<string, AuditedKind<unknown>>();

  register<T>(kind: string, audited: AuditedKind<T>): void {
    if (this.kinds.has(kind)) throw new Error(`audited kind ${kind} registered twice`);
    this.kinds.set(kind, audited as AuditedKind<unknown>);
  }

  get(kind: string): AuditedKind<unknown> | undefined {
    return this.kinds.get(kind);
  }

  names(): string[] {
    return [...this.kinds.keys()].sort();
  }
}
