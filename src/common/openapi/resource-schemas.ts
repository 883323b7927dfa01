import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * Response schemas of the API's resources, as schema objects: every resource is
 * `{kind, apiVersion, metadata, spec?, status?}` and every list `{kind, apiVersion, metadata, items}`.
 * They state what each answer always has; nested objects whose fields depend on what an agent
 * reported stay open (additional properties allowed).
 */

const dateTime: SchemaObject = { type: 'string', format: 'date-time' };
const openObject: SchemaObject = { type: 'object', additionalProperties: true };
const labels: SchemaObject = { type: 'object', additionalProperties: { type: 'string' } };
const nullable = (s: SchemaObject): SchemaObject => ({ ...s, nullable: true });

interface ResourceParts {
  metadata?: Record<string, SchemaObject>;
  requiredMetadata?: string[];
  spec?: SchemaObject;
  status?: SchemaObject;
  /** Top-level fields besides kind, apiVersion, metadata, spec and status. */
  extra?: Record<string, SchemaObject>;
  requiredExtra?: string[];
}

export function resourceSchema(kind: string, parts: ResourceParts = {}): SchemaObject {
  const properties: Record<string, SchemaObject> = {
    kind: { type: 'string', enum: [kind] },
    apiVersion: { type: 'string', enum: ['v1'] },
    metadata: {
      type: 'object',
      required: ['name', ...(parts.requiredMetadata ?? [])],
      properties: { name: { type: 'string' }, ...parts.metadata },
    },
    ...(parts.spec ? { spec: parts.spec } : {}),
    ...(parts.status ? { status: parts.status } : {}),
    ...parts.extra,
  };
  return {
    type: 'object',
    required: ['kind', 'apiVersion', 'metadata', ...(parts.spec ? ['spec'] : []), ...(parts.status ? ['status'] : []), ...(parts.requiredExtra ?? [])],
    properties,
  };
}

/** One page of a list: `metadata.continue` is there while more items remain. */
export function listSchema(kind: string, item: SchemaObject): SchemaObject {
  return {
    type: 'object',
    required: ['kind', 'apiVersion', 'metadata', 'items'],
    properties: {
      kind: { type: 'string', enum: [kind] },
      apiVersion: { type: 'string', enum: ['v1'] },
      metadata: {
        type: 'object',
        required: ['remainingItemCount'],
        properties: {
          continue: { type: 'string', description: 'Pass as `continue` to get the next page' },
          remainingItemCount: {
            type: 'integer',
            minimum: 0,
            description:
              'How many items follow this page. Of agents, on a database whose counts read every document (the local FerretDB default), counted from a read at most COUNT_SNAPSHOT_MAX_AGE_MS old',
          },
        },
      },
      items: { type: 'array', items: item },
    },
  };
}

const versioned = { createdAt: dateTime, updatedAt: dateTime, resourceVersion: { type: 'string' }, deletedAt: dateTime } satisfies Record<string, SchemaObject>;

export const AGENT_SCHEMA = resourceSchema('Agent', {
  metadata: { instanceUid: { type: 'string' }, labels, createdAt: dateTime, updatedAt: dateTime },
  requiredMetadata: ['instanceUid', 'labels'],
  spec: { type: 'object', properties: { assignedConfig: openObject, assignedPackages: openObject } },
  status: {
    type: 'object',
    required: ['connected', 'connection', 'capabilities'],
    properties: {
      connected: { type: 'boolean' },
      connection: openObject,
      description: openObject,
      capabilities: {
        type: 'object',
        required: ['value', 'names'],
        properties: { value: { type: 'integer' }, names: { type: 'array', items: { type: 'string' } } },
      },
      health: openObject,
      effectiveConfig: openObject,
      remoteConfigStatus: openObject,
      remoteConfig: openObject,
      connectionSettingsOffer: openObject,
      packageStatuses: openObject,
      packages: {
        ...openObject,
        description:
          'What the agent runs of each package (version, hash, status: DOWNLOADING with progress, INSTALLING, INSTALLED, INSTALL_FAILED with the error) and where the offer stands (state, hashes, what the forward-only policy refused and why)',
      },
      availableComponents: openObject,
      customCapabilities: { type: 'array', items: { type: 'string' } },
      connectionSettingsStatus: openObject,
      ownTelemetry: {
        type: 'object',
        description:
          "What the agent's own metrics showed when the replica holding its telemetry window last wrote it: written when an own-telemetry condition changes or a rate moves to another power-of-two band, checked every 15 s, so a rate here is within a factor of two of the current one (GET /agents/{id}/telemetry has the exact figures)",
        required: ['conditions', 'acceptedPerSecond', 'sentPerSecond', 'exportFailureRatio', 'at'],
        properties: {
          conditions: {
            type: 'array',
            items: { type: 'string', enum: ['Idle', 'ExportFailing', 'Stale', 'Restarting'] },
            description: 'The conditions that are True',
          },
          acceptedPerSecond: { type: 'number', minimum: 0, description: 'Items accepted by its receivers per second' },
          sentPerSecond: { type: 'number', minimum: 0, description: 'Items sent by its exporters per second' },
          exportFailureRatio: { type: 'number', minimum: 0, maximum: 1, description: 'failed / (sent + failed)' },
          at: dateTime,
        },
      },
      conditions: {
        type: 'array',
        description: "Conditions derived from the agent's own metrics (Idle, ExportFailing, Stale, Restarting), Kubernetes-style; on GET /agents/{id}",
        items: {
          type: 'object',
          required: ['type', 'status', 'reason', 'message'],
          properties: {
            type: { type: 'string' },
            status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
            reason: { type: 'string' },
            message: { type: 'string' },
            since: dateTime,
          },
        },
      },
      governedBy: {
        type: 'object',
        description:
          "Only in a group's agent list: whose config the agent gets (kind group + group, or kind agent: its own config); absent when no group governs it",
        required: ['kind'],
        properties: { kind: { type: 'string', enum: ['group', 'agent'] }, group: { type: 'string' } },
      },
    },
  },
});

export const AVAILABLE_COMPONENTS_SCHEMA = resourceSchema('AvailableComponents', {
  extra: { hash: nullable({ type: 'string' }), components: nullable({ type: 'object', additionalProperties: true }) },
  requiredExtra: ['hash'],
});

export const DESIRED_CONFIG_SCHEMA = resourceSchema('DesiredConfig', {
  extra: {
    acceptsRemoteConfig: { type: 'boolean' },
    delivery: openObject,
    assigned: { type: 'boolean', description: 'Whether a group or the agent itself assigns a configuration' },
    origin: openObject,
    error: { type: 'string' },
    hash: { type: 'string', description: 'Hex hash of the config map' },
    configMap: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['contentType'],
        properties: { contentType: { type: 'string' }, body: { type: 'string' }, bodyBase64: { type: 'string', format: 'byte' }, source: openObject },
      },
    },
  },
  requiredExtra: ['acceptsRemoteConfig', 'assigned'],
});

export const COMMAND_ACCEPTED_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['accepted', 'delivery'],
  properties: {
    accepted: { type: 'boolean', enum: [true] },
    delivery: {
      type: 'string',
      enum: ['sent', 'next-poll'],
      description: "sent: written to the agent's connection; next-poll: answered to its next HTTP poll",
    },
    replica: { type: 'string', description: 'The replica that took it (the one holding the agent; reached over the event bus when not this one)' },
  },
};

const lastChange: SchemaObject = { type: 'object', properties: { author: { type: 'string' }, message: nullable({ type: 'string' }), createdAt: dateTime } };

export const REMOTE_CONFIG_SCHEMA = resourceSchema('RemoteConfig', {
  metadata: versioned,
  requiredMetadata: ['resourceVersion'],
  spec: {
    type: 'object',
    required: ['contentType', 'body'],
    properties: { contentType: { type: 'string' }, body: { type: 'string' }, description: { type: 'string' } },
  },
  status: {
    type: 'object',
    required: ['latestRevision', 'revisionCount', 'hash'],
    properties: { latestRevision: { type: 'integer', minimum: 1 }, revisionCount: { type: 'integer', minimum: 1 }, hash: { type: 'string' }, lastChange },
  },
});

export const REVISION_SCHEMA = resourceSchema('RemoteConfigRevision', {
  metadata: {
    revision: { type: 'integer', minimum: 1 },
    hash: { type: 'string' },
    author: { type: 'string' },
    message: nullable({ type: 'string' }),
    createdAt: dateTime,
  },
  requiredMetadata: ['revision', 'hash'],
  spec: {
    type: 'object',
    required: ['contentType'],
    properties: { contentType: { type: 'string' }, body: { type: 'string', description: 'Left out of lists' } },
  },
});

export const AGENT_GROUP_SCHEMA = resourceSchema('AgentGroup', {
  metadata: { ...versioned, labels },
  requiredMetadata: ['resourceVersion'],
  spec: {
    type: 'object',
    required: ['selector', 'priority', 'configs'],
    properties: {
      selector: { oneOf: [{ type: 'string' }, openObject], description: 'A selector string, or {matchLabels, matchExpressions}' },
      priority: { type: 'integer' },
      configs: {
        type: 'array',
        items: {
          type: 'object',
          required: ['fileName', 'remoteConfig'],
          properties: { fileName: { type: 'string' }, remoteConfig: { type: 'string' }, revision: { type: 'integer', nullable: true } },
        },
      },
      connectionSettings: openObject,
      packages: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'version'],
          properties: { name: { type: 'string' }, version: { type: 'string' }, force: { type: 'boolean' } },
        },
      },
      rolloutPolicy: { ...openObject, description: 'Stages, gates, apply timeout and onGateTrip of the rollout a change of configs goes out as' },
    },
  },
  status: openObject,
});

const packageFile: SchemaObject = {
  type: 'object',
  required: ['name', 'sha256'],
  properties: {
    name: { type: 'string' },
    platform: { type: 'string', description: '`os` or `os/arch`; absent: every platform' },
    url: { type: 'string', format: 'uri', description: 'External https URL (absent for uploaded files)' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    size: { type: 'integer', minimum: 0 },
    signature: { type: 'string', description: 'Base64, passed to agents' },
    sigstoreBundle: {
      type: 'string',
      description: "Base64 of the Sigstore bundle's JSON (uploaded files only), verified when stored; its JSON bytes are the signature agents are offered",
    },
  },
};

export const AGENT_PACKAGE_SCHEMA = resourceSchema('AgentPackage', {
  metadata: versioned,
  requiredMetadata: ['resourceVersion'],
  spec: {
    type: 'object',
    required: ['package', 'version', 'type', 'files'],
    properties: {
      package: { type: 'string' },
      version: { type: 'string' },
      type: { type: 'string', enum: ['top-level', 'addon'] },
      description: { type: 'string' },
      files: { type: 'array', items: packageFile },
    },
  },
  status: {
    type: 'object',
    required: ['fileCount', 'files'],
    properties: {
      fileCount: { type: 'integer', minimum: 0 },
      files: {
        type: 'array',
        items: {
          type: 'object',
          required: ['name', 'stored', 'signed', 'signatureVerified'],
          properties: {
            name: { type: 'string' },
            stored: { type: 'boolean', description: 'Uploaded to this server (else at its url)' },
            downloadPath: { type: 'string', description: 'Path of the download on the OpAMP port' },
            signed: { type: 'boolean' },
            signatureVerified: {
              type: 'boolean',
              description:
                'The signature verified against PACKAGE_SIGNING_PUBLIC_KEY_FILE, or the Sigstore bundle against the trusted root and signer policy, when stored',
            },
            signer: {
              type: 'object',
              description: "Who signed the Sigstore bundle, as verified: a certificate's identity (SAN) and OIDC issuer, or the package signing key",
              required: ['kind'],
              properties: {
                kind: { type: 'string', enum: ['certificate', 'public-key'] },
                identity: { type: 'string' },
                issuer: { type: 'string' },
              },
            },
            addedAt: dateTime,
          },
        },
      },
    },
  },
});

export const USER_SCHEMA = resourceSchema('User', {
  metadata: { createdAt: dateTime, updatedAt: dateTime },
  spec: {
    type: 'object',
    required: ['role', 'disabled', 'githubLogin'],
    properties: { role: { type: 'string', enum: ['viewer', 'operator', 'admin'] }, disabled: { type: 'boolean' }, githubLogin: nullable({ type: 'string' }) },
  },
  status: {
    type: 'object',
    required: ['hasPassword', 'githubLinked'],
    properties: { source: { type: 'string' }, hasPassword: { type: 'boolean' }, githubLinked: { type: 'boolean' }, lastLoginAt: nullable(dateTime) },
  },
});

const enrollmentTokenParts = {
  metadata: { createdAt: dateTime, createdBy: { type: 'string' } },
  spec: {
    type: 'object',
    required: ['labels', 'expiresAt'],
    properties: { description: { type: 'string' }, labels, expiresAt: nullable(dateTime) },
  },
  status: {
    type: 'object',
    required: ['state', 'revokedAt', 'lastUsedAt'],
    properties: { state: { type: 'string', enum: ['active', 'expired', 'revoked'] }, revokedAt: nullable(dateTime), lastUsedAt: nullable(dateTime) },
  },
} satisfies ResourceParts;

export const ENROLLMENT_TOKEN_SCHEMA = resourceSchema('EnrollmentToken', enrollmentTokenParts);

export const NEW_ENROLLMENT_TOKEN_SCHEMA = resourceSchema('EnrollmentToken', {
  ...enrollmentTokenParts,
  extra: { token: { type: 'string', description: 'The secret agents present (`Authorization: Bearer …`); shown this once only' } },
  requiredExtra: ['token'],
});

export const AUDIT_EVENT_SCHEMA = resourceSchema('AuditEvent', {
  metadata: { createdAt: dateTime },
  extra: {
    actor: openObject,
    action: { type: 'string' },
    outcome: { type: 'string', enum: ['success', 'failure'] },
    resource: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' }, name: { type: 'string' } } },
    request: openObject,
    before: {},
    after: {},
    changes: { type: 'array', items: { type: 'string' } },
    summary: { type: 'string' },
  },
  requiredExtra: ['actor', 'action', 'resource'],
});

export const REPLICA_SCHEMA = resourceSchema('Replica', {
  status: {
    type: 'object',
    required: ['host', 'ports', 'version', 'startedAt', 'heartbeatAt', 'silentSeconds', 'gone', 'agents', 'movableAgents', 'rebalance', 'bus', 'leases'],
    properties: {
      host: { type: 'string' },
      ports: {
        type: 'object',
        required: ['api', 'opamp', 'grpc'],
        properties: { api: { type: 'integer' }, opamp: { type: 'integer' }, grpc: { type: 'integer' } },
      },
      version: { type: 'string' },
      startedAt: dateTime,
      heartbeatAt: dateTime,
      silentSeconds: { type: 'integer', minimum: 0, description: 'Seconds since its last heartbeat' },
      gone: { type: 'boolean', description: 'Silent for REPLICA_TIMEOUT_SECONDS or longer' },
      agents: { type: 'integer', minimum: 0, description: 'Agents connected to it' },
      movableAgents: {
        type: 'integer',
        minimum: 0,
        nullable: true,
        description: 'Of those, the ones on WebSocket or gRPC, which the load share counts (HTTP agents cannot be moved); null in records of older versions',
      },
      rebalance: {
        type: 'object',
        nullable: true,
        required: ['state', 'since'],
        description: 'Whether it is closing agent connections so that they reconnect elsewhere: `shed` of `target` since `since`, for `reason`',
        properties: {
          state: { type: 'string', enum: ['idle', 'draining'] },
          reason: { type: 'string', enum: ['rebalance', 'shutdown'] },
          shed: { type: 'integer', minimum: 0 },
          target: { type: 'integer', minimum: 0 },
          since: dateTime,
        },
      },
      bus: { type: 'object', required: ['kind', 'connected'], properties: { kind: { type: 'string' }, connected: { type: 'boolean' } } },
      leases: { type: 'array', items: { type: 'string' }, description: 'Names of the leases it holds' },
    },
  },
});

const configRef: SchemaObject = {
  type: 'object',
  required: ['fileName', 'remoteConfig'],
  properties: { fileName: { type: 'string' }, remoteConfig: { type: 'string' }, revision: { type: 'integer', nullable: true } },
};

const packageRef: SchemaObject = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: { type: 'string' }, version: { type: 'string' }, force: { type: 'boolean' } },
};

const fourCounts = (names: string[], description: string): SchemaObject => ({
  type: 'object',
  required: names,
  description,
  properties: Object.fromEntries(names.map((n) => [n, { type: 'integer', minimum: 0 }])),
});

/** One stage's counts: agents done with everything moved, and per moved part. */
const rolloutStageCounts: SchemaObject = {
  type: 'object',
  required: ['reached', 'applied', 'failed', 'pending'],
  properties: {
    reached: { type: 'integer', minimum: 0 },
    applied: { type: 'integer', minimum: 0, description: 'Agents done with everything the rollout moves' },
    failed: { type: 'integer', minimum: 0 },
    pending: { type: 'integer', minimum: 0 },
    packages: fourCounts(
      ['installed', 'installing', 'failed', 'pending'],
      "A rollout of packages: the stage's agents by how the target versions stand on them",
    ),
    connectionSettings: fourCounts(
      ['applied', 'applying', 'failed', 'pending'],
      "A rollout of connection settings: the stage's agents by the ConnectionSettingsStatus they report for the offer made from the new settings (applied: APPLIED, or sent to an agent without ReportsConnectionSettingsStatus; applying: sent, no final status; failed: FAILED or not in time; pending: not offered yet)",
    ),
  },
};

export const ROLLOUT_SCHEMA = resourceSchema('Rollout', {
  metadata: { labels, resourceVersion: { type: 'string' }, createdAt: dateTime, updatedAt: dateTime },
  requiredMetadata: ['labels', 'resourceVersion'],
  spec: {
    type: 'object',
    required: ['target', 'configs', 'stages', 'applyTimeoutSeconds', 'gates', 'onGateTrip'],
    properties: {
      target: { type: 'object', required: ['group'], properties: { group: { type: 'string' } } },
      configs: { type: 'array', items: configRef },
      packages: { type: 'array', items: packageRef, description: 'The package versions the rollout moves the group to (absent: none)' },
      connectionSettings: {
        ...openObject,
        description: "The connection settings the rollout moves the group to, as a group's spec.connectionSettings (absent: it does not move them)",
      },
      stages: { oneOf: [{ type: 'array', items: {} }, openObject], description: 'As sent: a list of stages, or {initial, multiplier, bakeSeconds}' },
      applyTimeoutSeconds: { type: 'integer' },
      gates: {
        type: 'array',
        items: {
          type: 'object',
          required: ['metric', 'maxRatio'],
          properties: { metric: { type: 'string' }, maxRatio: { type: 'number' }, vsControl: { type: 'boolean' } },
        },
      },
      onGateTrip: { type: 'string', enum: ['rollback', 'pause'] },
    },
  },
  // Fields not set yet may come back null.
  status: {
    type: 'object',
    required: ['phase', 'stage', 'reached', 'stages', 'gates', 'conditions', 'failedAgents'],
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Progressing', 'Paused', 'Succeeded', 'RolledBack', 'Aborted'] },
      stage: { type: 'integer', minimum: 0, description: 'Index of the current stage' },
      stageCount: nullable({ type: 'integer' }),
      targetAgents: nullable({ type: 'integer' }),
      reached: { type: 'integer', minimum: 0, description: 'Agents the rollout has moved to its configs' },
      toHash: nullable({ type: 'string' }),
      configs: { type: 'array', nullable: true, items: configRef, description: 'The configs pinned to revisions when the rollout started' },
      previousConfigs: { type: 'array', nullable: true, items: configRef, description: "The group's configs before the rollout" },
      packages: { type: 'array', items: packageRef, description: 'A rollout of packages: the versions it delivers' },
      previousPackages: { type: 'array', items: packageRef, description: "A rollout of packages: the group's packages before it" },
      previousConnectionSettings: {
        ...openObject,
        description: "A rollout of connection settings: the group's settings before it (`{}`: none), what undo after success writes back",
      },
      approvedStage: nullable({ type: 'integer' }),
      stageStartedAt: nullable(dateTime),
      bakeStartedAt: nullable(dateTime),
      stages: { type: 'array', items: rolloutStageCounts },
      gates: { type: 'array', items: openObject },
      conditions: { type: 'array', items: openObject },
      failedAgents: {
        type: 'array',
        items: { type: 'object', required: ['uid', 'error'], properties: { uid: { type: 'string' }, error: { type: 'string' } } },
      },
    },
  },
});

const packageCounts: SchemaObject = {
  type: 'object',
  required: ['name', 'agents', 'versions', 'statuses'],
  properties: {
    name: { type: 'string' },
    agents: { type: 'integer', description: 'Agents that report the package' },
    versions: {
      type: 'array',
      items: { type: 'object', required: ['version', 'agents'], properties: { version: { type: 'string' }, agents: { type: 'integer' } } },
    },
    statuses: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'Agents by the status they report for it (INSTALLED, INSTALL_FAILED, …)',
    },
    latest: { type: 'string', description: 'The newest catalogued version' },
    behindLatest: { type: 'integer', description: 'Agents that report the package and do not run the newest catalogued version' },
  },
};

export const FLEET_PACKAGES_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['kind', 'apiVersion', 'items'],
  properties: { kind: { type: 'string', enum: ['FleetPackageList'] }, apiVersion: { type: 'string' }, items: { type: 'array', items: packageCounts } },
};

export const FLEET_PACKAGE_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['kind', 'apiVersion', 'metadata', 'status'],
  properties: {
    kind: { type: 'string', enum: ['FleetPackage'] },
    apiVersion: { type: 'string' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
    status: packageCounts,
  },
};

export const DESIRED_PACKAGES_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['kind', 'apiVersion', 'metadata', 'acceptsPackages', 'packages'],
  properties: {
    kind: { type: 'string', enum: ['DesiredPackages'] },
    apiVersion: { type: 'string' },
    metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
    acceptsPackages: { type: 'boolean' },
    packages: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'desiredVersion', 'origin', 'offeredVersion'],
        properties: {
          name: { type: 'string' },
          desiredVersion: { type: 'string' },
          origin: { type: 'string', description: 'group/NAME or agent' },
          force: { type: 'boolean' },
          offeredVersion: {
            type: 'string',
            description: 'What the forward-only policy offers: the desired version, or the installed one when it refuses a downgrade',
          },
          installedVersion: { type: 'string' },
          downgrade: { type: 'boolean' },
          refused: { type: 'string', description: 'Why the desired version is not offered' },
        },
      },
    },
    offer: { type: 'object', additionalProperties: true },
  },
};
