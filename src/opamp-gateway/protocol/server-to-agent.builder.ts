import { create } from '@bufbuild/protobuf';
import {
  AgentConfigFileSchema,
  AgentConfigMapSchema,
  AgentIdentificationSchema,
  AgentRemoteConfig,
  AgentRemoteConfigSchema,
  CommandType,
  ConnectionSettingsOffers,
  CustomCapabilitiesSchema,
  CustomMessage,
  DownloadableFileSchema,
  HeadersSchema,
  HeaderSchema,
  PackageAvailableSchema,
  PackagesAvailable,
  PackagesAvailableSchema,
  PackageType,
  RetryInfoSchema,
  ServerErrorResponseSchema,
  ServerErrorResponseType,
  ServerToAgent,
  ServerToAgentCommandSchema,
  ServerToAgentSchema,
} from '../../gen/opamp/v1/opamp_pb';
import { SERVER_CAPABILITIES } from '../../protocol/capabilities';

/** Everything a ServerToAgent can carry, as the session decides it. */
export interface OutgoingParts {
  /** The uid of the message being answered (or of the agent pushed to). */
  instanceUid: Uint8Array;
  /** Include the server's capabilities (first answer on a connection, every HTTP answer). */
  withCapabilities: boolean;
  flags?: bigint;
  newInstanceUid?: Uint8Array;
  remoteConfig?: AgentRemoteConfig;
  connectionSettings?: ConnectionSettingsOffers;
  packagesAvailable?: PackagesAvailable;
  customCapabilities?: string[];
  customMessage?: CustomMessage;
}

/**
 * The one place every ServerToAgent is made, for replies and pushes alike, on every transport.
 * Fields are set only when they carry something, so an acknowledgement is the uid alone.
 */
export function buildServerToAgent(p: OutgoingParts): ServerToAgent {
  const msg = create(ServerToAgentSchema, { instanceUid: p.instanceUid });
  if (p.withCapabilities) msg.capabilities = SERVER_CAPABILITIES;
  if (p.flags) msg.flags = p.flags;
  if (p.newInstanceUid) msg.agentIdentification = create(AgentIdentificationSchema, { newInstanceUid: p.newInstanceUid });
  if (p.remoteConfig) msg.remoteConfig = p.remoteConfig;
  if (p.connectionSettings) msg.connectionSettings = p.connectionSettings;
  if (p.packagesAvailable) msg.packagesAvailable = p.packagesAvailable;
  if (p.customCapabilities?.length) msg.customCapabilities = create(CustomCapabilitiesSchema, { capabilities: p.customCapabilities });
  if (p.customMessage) msg.customMessage = p.customMessage;
  return msg;
}

/** A complete config map and its hash, as desired state derives it for an agent. */
export interface RemoteConfigContent {
  hash: Uint8Array;
  entries: readonly { fileName: string; contentType: string; body: Uint8Array }[];
}

/**
 * Made once per desired config and shared by every agent it goes to: a change for a large fleet
 * would otherwise build the same map thousands of times. Keyed weakly, so a config desired state
 * no longer holds takes its message with it.
 */
const remoteConfigs = new WeakMap<RemoteConfigContent, AgentRemoteConfig>();

/**
 * The remote config message: always the complete map (the Operator bridge deletes collectors whose
 * key is missing) and always its hash (opamp-go cannot report status without one).
 */
export function buildRemoteConfig(content: RemoteConfigContent): AgentRemoteConfig {
  let msg = remoteConfigs.get(content);
  if (!msg) {
    msg = create(AgentRemoteConfigSchema, {
      configHash: content.hash,
      config: create(AgentConfigMapSchema, {
        configMap: Object.fromEntries(content.entries.map((e) => [e.fileName, create(AgentConfigFileSchema, { body: e.body, contentType: e.contentType })])),
      }),
    });
    remoteConfigs.set(content, msg);
  }
  return msg;
}

/** A packages offer as the session decided it (see delivery-policy.ts). */
export interface PackagesOfferContent {
  hash: Uint8Array;
  packages: readonly {
    name: string;
    version: string;
    type: 'top-level' | 'addon';
    hash: Uint8Array;
    file?: { downloadUrl: string; contentHash: Uint8Array; signature: Uint8Array; headers: Record<string, string> };
  }[];
}

/**
 * PackagesAvailable: every package the agent should run (opamp-go removes those an offer leaves
 * out) and all_packages_hash. `headers` are added to the files served by this server
 * (`ownUrl` is its download base): the agent's own credential, which opamp-go does not send on
 * downloads by itself. A file without a URL (a package the agent keeps) goes without a file.
 */
export function buildPackagesAvailable(offer: PackagesOfferContent, headers: Record<string, string> = {}, ownUrl?: string): PackagesAvailable {
  const packages = Object.fromEntries(
    offer.packages.map((p) => {
      const f = p.file;
      const own = !!f && !!ownUrl && f.downloadUrl.startsWith(ownUrl);
      const all = { ...(f?.headers ?? {}), ...(own ? headers : {}) };
      const file =
        f &&
        create(DownloadableFileSchema, {
          downloadUrl: f.downloadUrl,
          contentHash: f.contentHash,
          signature: f.signature,
          ...(Object.keys(all).length
            ? { headers: create(HeadersSchema, { headers: Object.entries(all).map(([key, value]) => create(HeaderSchema, { key, value })) }) }
            : {}),
        });
      const type = p.type === 'addon' ? PackageType.PackageType_Addon : PackageType.PackageType_TopLevel;
      return [p.name, create(PackageAvailableSchema, { type, version: p.version, hash: p.hash, ...(file ? { file } : {}) })];
    }),
  );
  return create(PackagesAvailableSchema, { packages, allPackagesHash: offer.hash });
}

/**
 * A command travels alone (with uid and capabilities): opamp-go ignores every other field of
 * a message that carries one.
 */
export function buildCommand(instanceUid: Uint8Array, type: CommandType, withCapabilities: boolean): ServerToAgent {
  const msg = create(ServerToAgentSchema, { instanceUid, command: create(ServerToAgentCommandSchema, { type }) });
  if (withCapabilities) msg.capabilities = SERVER_CAPABILITIES;
  return msg;
}

/** An error answer: nothing but the uid and the error (spec: every other field stays unset). */
export function buildErrorResponse(instanceUid: Uint8Array, type: ServerErrorResponseType, errorMessage: string, retryAfterSeconds?: number): ServerToAgent {
  const error = create(ServerErrorResponseSchema, { type, errorMessage });
  if (retryAfterSeconds !== undefined) {
    error.Details = {
      case: 'retryInfo',
      value: create(RetryInfoSchema, { retryAfterNanoseconds: BigInt(retryAfterSeconds) * 1_000_000_000n }),
    };
  }
  return create(ServerToAgentSchema, { instanceUid, errorResponse: error });
}
