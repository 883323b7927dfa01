import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { sharedMetric } from '../metrics/registry';
import type { AgentToServer } from '../gen/opamp/v1/opamp_pb';
import type { TransportKind } from './agent-connection';
import type { AdmissionRefusalReason } from './admission-control';

/** What an AgentToServer carries, for the `kind` label: a heartbeat, a status report or a goodbye. */
export function agentMessageKind(msg: AgentToServer | undefined): 'heartbeat' | 'report' | 'disconnect' | 'malformed' {
  if (!msg) return 'malformed';
  if (msg.agentDisconnect) return 'disconnect';
  const reports =
    msg.agentDescription ||
    msg.health ||
    msg.effectiveConfig ||
    msg.remoteConfigStatus ||
    msg.packageStatuses ||
    msg.customCapabilities ||
    msg.customMessage ||
    msg.availableComponents ||
    msg.connectionSettingsStatus ||
    msg.connectionSettingsRequest ||
    msg.flags !== 0n;
  return reports ? 'report' : 'heartbeat';
}

/** The protocol's own Prometheus metrics (opamp_*), on the process-wide registry. */
@Injectable()
export class OpampMetrics {
  readonly messagesReceived = sharedMetric(
    'opamp_messages_received_total',
    () =>
      new Counter({ name: 'opamp_messages_received_total', help: 'AgentToServer messages received, by transport and kind', labelNames: ['transport', 'kind'] }),
  );
  readonly messagesSent = sharedMetric(
    'opamp_messages_sent_total',
    () =>
      new Counter({
        name: 'opamp_messages_sent_total',
        help: 'ServerToAgent messages sent, by transport and kind (reply, push)',
        labelNames: ['transport', 'kind'],
      }),
  );
  readonly bytesReceived = sharedMetric(
    'opamp_message_received_bytes_total',
    () => new Counter({ name: 'opamp_message_received_bytes_total', help: 'Bytes of AgentToServer messages received', labelNames: ['transport'] }),
  );
  readonly bytesSent = sharedMetric(
    'opamp_message_sent_bytes_total',
    () => new Counter({ name: 'opamp_message_sent_bytes_total', help: 'Bytes of ServerToAgent messages sent', labelNames: ['transport'] }),
  );
  readonly answerSeconds = sharedMetric(
    'opamp_answer_duration_seconds',
    () =>
      new Histogram({
        name: 'opamp_answer_duration_seconds',
        help: 'Time from receiving an AgentToServer to sending its answer',
        labelNames: ['transport'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      }),
  );
  readonly admissionRejections = sharedMetric(
    'opamp_admission_rejections_total',
    () =>
      new Counter({
        name: 'opamp_admission_rejections_total',
        help: 'New agent connections refused by admission control, by transport and reason (capacity: OPAMP_MAX_CONNECTIONS; rate: OPAMP_MAX_NEW_CONNECTIONS_PER_SECOND; over-share: this replica is shedding its surplus over the fair share)',
        labelNames: ['transport', 'reason'],
      }),
  );
  readonly connectionsOpened = sharedMetric(
    'opamp_agent_connections_opened_total',
    () =>
      new Counter({ name: 'opamp_agent_connections_opened_total', help: 'Agent connections (WebSocket, gRPC streams) accepted', labelNames: ['transport'] }),
  );
  readonly connectionsClosed = sharedMetric(
    'opamp_agent_connections_closed_total',
    () => new Counter({ name: 'opamp_agent_connections_closed_total', help: 'Agent connections (WebSocket, gRPC streams) ended', labelNames: ['transport'] }),
  );
  readonly connectionsShed = sharedMetric(
    'opamp_agent_connections_shed_total',
    () =>
      new Counter({
        name: 'opamp_agent_connections_shed_total',
        help: 'Agent connections (WebSocket, gRPC) this replica asked to reconnect elsewhere, by reason (rebalance: its surplus over the fair share; shutdown)',
        labelNames: ['reason'],
      }),
  );
  readonly malformed = sharedMetric(
    'opamp_malformed_messages_total',
    () => new Counter({ name: 'opamp_malformed_messages_total', help: 'Agent messages refused as malformed', labelNames: ['transport'] }),
  );

  /** A message arrived; pass the decoded message (when it decoded) for the kind label. */
  received(transport: TransportKind, bytes: number, msg?: AgentToServer): void {
    this.messagesReceived.inc({ transport, kind: agentMessageKind(msg) });
    this.bytesReceived.inc({ transport }, bytes);
  }

  /** A message left: an answer (with its latency) or a push (without). */
  sent(transport: TransportKind, bytes: number, answerSeconds?: number): void {
    this.messagesSent.inc({ transport, kind: answerSeconds === undefined ? 'push' : 'reply' });
    this.bytesSent.inc({ transport }, bytes);
    if (answerSeconds !== undefined) this.answerSeconds.observe({ transport }, answerSeconds);
  }

  rejected(transport: TransportKind, reason: AdmissionRefusalReason): void {
    this.admissionRejections.inc({ transport, reason });
  }
}
