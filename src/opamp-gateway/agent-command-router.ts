import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { create } from '@bufbuild/protobuf';
import { BusUnreachableError, EventBus } from '../cluster/event-bus';
import { ConflictError, UnavailableError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CommandType, CustomMessageSchema } from '../gen/opamp/v1/opamp_pb';
import { AgentPusher } from './agent-pusher';

/** Something sent to one agent now (not derived desired state), in a form that crosses the bus. */
export type AgentCommand = { kind: 'restart' } | { kind: 'custom-message'; capability: string; type: string; dataBase64: string };

/** How long a replica waits for the replica holding an agent to say whether it delivered. */
const ROUTE_TIMEOUT_MS = 3000;

function parseRouted(body: unknown): { uid: string; command: AgentCommand } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { uid, command } = body as { uid?: unknown; command?: Record<string, unknown> };
  if (typeof uid !== 'string' || uid.length > 64 || typeof command !== 'object' || command === null) return undefined;
  if (command.kind === 'restart') return { uid, command: { kind: 'restart' } };
  if (
    command.kind === 'custom-message' &&
    typeof command.capability === 'string' &&
    typeof command.type === 'string' &&
    typeof command.dataBase64 === 'string'
  ) {
    return { uid, command: { kind: 'custom-message', capability: command.capability, type: command.type, dataBase64: command.dataBase64 } };
  }
  return undefined;
}

/**
 * Delivers a command to an agent wherever it is held: by this replica's session at once (or at
 * the agent's next poll), else through the event bus by the replica the database says holds it,
 * which answers whether it could. Without a bus another replica's agent cannot be reached (409
 * naming the replica); with the bus down, 503 with Retry-After.
 */
@Injectable()
export class AgentCommandRouter implements OnApplicationBootstrap {
  constructor(
    private readonly pusher: AgentPusher,
    private readonly bus: EventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve('agent-command', async (body) => {
      const routed = parseRouted(body);
      return { delivered: routed ? await this.deliverHere(routed.uid, routed.command) : false };
    });
  }

  /** Delivers `command`; `holder` is the replica recorded on the agent. Resolves with the replica that took it. */
  async deliver(uid: string, holder: string | undefined, command: AgentCommand): Promise<{ replica: string }> {
    const me = this.config.replicaId;
    if (await this.deliverHere(uid, command)) return { replica: me };
    if (!holder || holder === me) throw new ConflictError(`agent ${uid} is not connected to any replica now`);
    let answer: unknown;
    try {
      answer = await this.bus.request('agent-command', holder, { uid, command }, ROUTE_TIMEOUT_MS);
    } catch (e) {
      if (!(e instanceof BusUnreachableError)) throw e;
      if (e.busDown)
        throw new UnavailableError(
          `agent ${uid} is held by replica ${holder}, and the event bus to it is down: ${e.message}`,
          this.config.opamp.retryAfterSeconds,
        );
      if (this.bus.kind === 'in-process')
        throw new ConflictError(
          `agent ${uid} is connected to another replica (${holder}); send the command there, or run the replicas with an event bus (NATS_URL)`,
        );
      throw new ConflictError(`agent ${uid} is held by replica ${holder}, which does not answer: ${e.message}`);
    }
    if ((answer as { delivered?: unknown })?.delivered !== true) throw new ConflictError(`agent ${uid} is no longer connected to replica ${holder}`);
    return { replica: holder };
  }

  private async deliverHere(uid: string, command: AgentCommand): Promise<boolean> {
    if (command.kind === 'restart') return this.pusher.sendCommand(uid, CommandType.CommandType_Restart);
    const message = create(CustomMessageSchema, { capability: command.capability, type: command.type, data: Buffer.from(command.dataBase64, 'base64') });
    return this.pusher.sendCustomMessage(uid, message);
  }
}
