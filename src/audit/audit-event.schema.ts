import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Schema as MongooseSchema } from 'mongoose';

/** Who made a change. */
export interface AuditActor {
  username: string;
  role?: string;
  address?: string;
}

/**
 * One change made through the API (or a sign-in event): who, what, when, to which resource,
 * and hashes of the resource before and after with the paths that changed. Never a secret:
 * request and response bodies are not kept.
 */
@Schema({ collection: 'audit_events', versionKey: false })
export class AuditEvent {
  /** Sortable by time: 12 hex digits of milliseconds, then 12 random hex digits. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: Date, required: true })
  at: Date;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  actor: AuditActor;

  /** create, replace, update, delete, a sub-resource action (restart, rollback, …), login, logout, revoke. */
  @Prop({ type: String, required: true })
  action: string;

  @Prop({ type: MongooseSchema.Types.Mixed, required: true })
  resource: { kind: string; name?: string };

  @Prop({ type: String, required: true })
  outcome: 'success' | 'failure';

  @Prop({ type: MongooseSchema.Types.Mixed })
  request?: { method: string; path: string; status: number; requestId?: string };

  /** SHA-256 of the audited fields of the resource before the change (null: it did not exist). */
  @Prop({ type: String, default: undefined })
  before?: string | null;

  @Prop({ type: String, default: undefined })
  after?: string | null;

  /** Paths of the fields that changed (e.g. spec.selector, labels.env). */
  @Prop({ type: [String], default: undefined })
  changes?: string[];

  @Prop({ type: String })
  summary?: string;
}
export const AuditEventSchema = SchemaFactory.createForClass(AuditEvent);
AuditEventSchema.index({ 'actor.username': 1, _id: -1 });
AuditEventSchema.index({ 'resource.kind': 1, 'resource.name': 1, _id: -1 });
AuditEventSchema.index({ action: 1, _id: -1 });
