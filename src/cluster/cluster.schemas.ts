import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** Why a replica closes agent connections on purpose: its surplus over the fair share, or its shutdown. */
export type ShedReason = 'rebalance' | 'shutdown';

/** Whether a replica is asking agents to reconnect elsewhere: `draining` `shed` of `target` since `since`, or `idle` since `since`. */
export interface RebalanceState {
  state: 'idle' | 'draining';
  reason?: ShedReason;
  /** Connections closed so far by this drain. */
  shed?: number;
  /** Connections this drain closes. */
  target?: number;
  since: Date;
}

/**
 * One term of a named lease: `_id` is `<name>#<term>` with the term zero-padded, so taking the
 * lease over is an insert that only one replica can win (a unique `_id`), and renewing it is a
 * write to a document only its holder writes. Neither needs an atomic compare-and-set, which the
 * local database does not give. The term is the fencing token.
 */
@Schema({ collection: 'leases', versionKey: false })
export class LeaseTerm {
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  name: string;

  @Prop({ type: Number, required: true })
  term: number;

  @Prop({ type: String, required: true })
  holder: string;

  @Prop({ type: Date, required: true })
  acquiredAt: Date;

  @Prop({ type: Date, required: true })
  expiresAt: Date;
}
export const LeaseTermSchema = SchemaFactory.createForClass(LeaseTerm);
LeaseTermSchema.index({ name: 1, term: -1 });

/** A server replica as it last announced itself; written only by that replica (and deleted when declared gone). */
@Schema({ collection: 'replicas', versionKey: false })
export class ReplicaRecord {
  /** REPLICA_ID. */
  @Prop({ type: String, required: true })
  _id: string;

  @Prop({ type: String, required: true })
  host: string;

  @Prop({ type: Object, required: true })
  ports: { api: number; opamp: number; grpc: number };

  @Prop({ type: String, required: true })
  version: string;

  @Prop({ type: Date, required: true })
  startedAt: Date;

  @Prop({ type: Date, required: true })
  heartbeatAt: Date;

  /** Agents it served at its last heartbeat (live sockets and recently polling HTTP agents). */
  @Prop({ type: Number, required: true })
  agents: number;

  /**
   * Of those, the ones on a WebSocket or gRPC connection: the load share counts these only (an HTTP
   * agent polls whichever replica its load balancer picks and cannot be moved). Absent in records of
   * versions before it: a replica that sees such a record moves nothing.
   */
  @Prop({ type: Number })
  movableAgents?: number;

  /** Its drain state at its last heartbeat. */
  @Prop({ type: Object })
  rebalance?: RebalanceState;

  /** 'in-process' or 'nats', and whether it reached the bus at its last heartbeat. */
  @Prop({ type: Object, required: true })
  bus: { kind: string; connected: boolean };

  /** Leases it held at its last heartbeat. */
  @Prop({ type: [String], required: true })
  leases: string[];
}
export const ReplicaRecordSchema = SchemaFactory.createForClass(ReplicaRecord);
