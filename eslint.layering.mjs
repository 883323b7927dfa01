/**
 * The server's layers, lowest first. An import may point down or sideways within a layer, never up;
 * `import-x/no-restricted-paths` (eslint.config.mjs) fails `npm run lint` on one that points up.
 *
 *   leaves     protocol/ (OpAMP helpers: instance uids, capability names, config map hash, the
 *              agent admission port; imports only gen/), gen/ (generated protobuf), common/ and
 *              config/ (they may import each other), version/build-info.ts
 *   infra      database/, metrics/ (the Prometheus registry only), cluster/ (event bus, leases, replicas), logging/
 *   domain     auth/, audit/, remote-configs/, agents/, agent-groups/, desired-state/, rollouts/, telemetry/, packages/
 *              ordered among themselves: agents know nothing of groups' derivations, desired state
 *              or rollouts; desired state knows nothing of rollouts (they register an overlay source)
 *   transports opamp-gateway/ (the protocol server), web-ui/, health/, version/ (REST), and the
 *              composition root (app.module.ts, server.ts, main.ts, openapi-document.ts)
 *   cli/       opampctl: a client of the REST API, imports nothing of the server
 *
 * A domain change that must reach agents is published as an event (DesiredStateEvents); the
 * gateway subscribes. Feature metrics live with their feature and register on the shared registry.
 */
const LEAVES = ['src/protocol', 'src/gen', 'src/common', 'src/config'];
const INFRA = ['src/database', 'src/metrics', 'src/cluster', 'src/logging'];
const DOMAIN = [
  'src/auth',
  'src/audit',
  'src/remote-configs',
  'src/agents',
  'src/agent-groups',
  'src/desired-state',
  'src/rollouts',
  'src/telemetry',
  'src/packages',
];
const TRANSPORTS = ['src/opamp-gateway', 'src/web-ui', 'src/health', 'src/app.module.ts', 'src/server.ts', 'src/main.ts', 'src/openapi-document.ts'];
/** version/: its controller is REST; build-info.ts is a leaf anyone may read. */
const VERSION = 'src/version';
const CLI = ['src/cli'];
const SERVER = [...LEAVES, ...INFRA, ...DOMAIN, ...TRANSPORTS, VERSION];

const zone = (target, from, message, except) => ({ target, from, message, ...(except ? { except } : {}) });

export const layeringZones = [
  zone(
    'src/protocol',
    [...LEAVES.filter((d) => d !== 'src/protocol' && d !== 'src/gen'), ...INFRA, ...DOMAIN, ...TRANSPORTS, ...CLI],
    'layering: src/protocol is a leaf (it may import only src/gen).',
  ),
  zone(
    ['src/common', 'src/config'],
    [...INFRA, ...DOMAIN, ...TRANSPORTS, ...CLI, 'src/protocol'],
    'layering: common/ and config/ are leaves and import no feature module (move what they need into a leaf).',
  ),
  zone(
    INFRA,
    [...DOMAIN, ...TRANSPORTS, ...CLI],
    'layering: infrastructure (database, metrics registry, cluster, logging) imports no domain or transport module; a feature registers its own metrics.',
  ),
  zone(
    DOMAIN,
    [...TRANSPORTS, ...CLI],
    'layering: a domain module imports no transport (opamp-gateway, web-ui, health, the composition root); protocol helpers live in src/protocol.',
  ),
  zone(
    'src/agents',
    ['src/desired-state', 'src/rollouts'],
    'layering: agents are below desired state and rollouts (the types both need live in agents or src/protocol).',
  ),
  zone('src/desired-state', ['src/rollouts'], 'layering: desired state is below rollouts (rollouts register their overlay source).'),
  zone([...LEAVES, ...INFRA, ...DOMAIN], VERSION, 'layering: of version/, only build-info.ts is a leaf.', ['./build-info.ts']),
  zone(CLI, SERVER, 'layering: the CLI talks to the REST API only and imports nothing of the server.'),
];
