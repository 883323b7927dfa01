import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * The structure rules of the lint bite: files planted (never written) where a forbidden import
 * would be get the layering error of eslint.layering.mjs from the project's own lint
 * configuration, a hand-made timer or emitter gets the one-mechanism error, an allowed import gets
 * none, and src/ as it stands has no violation. One child process (ESLint loads its ESM config
 * there, which Jest's module system cannot) lints them all.
 */
const root = path.resolve(__dirname, '..');

interface Planted {
  filePath: string;
  code: string;
}

const plant = (filePath: string, from: string, name: string): Planted => ({
  filePath,
  code: `import { ${name} } from '${from}';\nexport const planted = ${name};\n`,
});

const cases: { what: string; file: Planted; says?: string; rule?: string }[] = [
  {
    what: 'a domain module importing the OpAMP gateway',
    file: plant('src/agents/planted.ts', '../opamp-gateway/session-store', 'SessionStore'),
    says: 'a domain module imports no transport',
  },
  {
    what: 'a domain module importing the web UI',
    file: plant('src/rollouts/planted.ts', '../web-ui/web-ui', 'serveWebUi'),
    says: 'a domain module imports no transport',
  },
  {
    what: 'config importing a feature module',
    file: plant('src/config/planted.ts', '../auth/users.service', 'UsersService'),
    says: 'common/ and config/ are leaves',
  },
  {
    what: 'common importing a feature module',
    file: plant('src/common/planted.ts', '../agents/agents.service', 'AgentsService'),
    says: 'common/ and config/ are leaves',
  },
  {
    what: 'the protocol leaf importing common',
    file: plant('src/protocol/planted.ts', '../common/domain-errors', 'NotFoundError'),
    says: 'src/protocol is a leaf',
  },
  {
    what: 'the metrics registry importing a feature',
    file: plant('src/metrics/planted.ts', '../agents/agents.service', 'AgentsService'),
    says: 'infrastructure',
  },
  {
    what: 'agents importing desired state',
    file: plant('src/agents/planted.ts', '../desired-state/desired-state.service', 'DesiredStateService'),
    says: 'agents are below desired state',
  },
  {
    what: 'the CLI importing the server',
    file: plant('src/cli/planted.ts', '../agents/agents.service', 'AgentsService'),
    says: 'the CLI talks to the REST API only',
  },
  {
    what: 'a hand-made interval instead of PeriodicTask',
    file: { filePath: 'src/desired-state/planted.ts', code: 'export const timer = setInterval(() => undefined, 1000);\n' },
    says: 'Schedule background work with PeriodicTask',
    rule: 'no-restricted-globals',
  },
  {
    what: 'a second EventEmitter instead of the typed event bus',
    file: { filePath: 'src/cluster/planted.ts', code: "import { EventEmitter } from 'node:events';\nexport const bus = new EventEmitter();\n" },
    says: 'Publish in-process events on a TypedEventBus',
    rule: 'no-restricted-imports',
  },
  { what: 'the gateway importing a domain module (allowed)', file: plant('src/opamp-gateway/planted.ts', '../agents/agents.service', 'AgentsService') },
  { what: 'a domain module importing the protocol leaf (allowed)', file: plant('src/agents/planted.ts', '../protocol/instance-uid', 'isUidText') },
];

describe('structure lint (layers, one scheduler, one event bus)', () => {
  let result: { planted: string[][]; src: { file: string; line: number; message: string }[] };

  beforeAll(() => {
    const run = spawnSync(process.execPath, [path.join(root, 'scripts/lint-structure.mjs')], {
      cwd: root,
      input: JSON.stringify(cases.map((c) => c.file)),
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    if (run.status !== 0) throw new Error(`lint-structure failed (${run.status}): ${run.stderr}`);
    result = JSON.parse(run.stdout);
  }, 120_000);

  it.each(cases.map((c, i) => [c.what, i] as const))('%s', (_what, i) => {
    const { says, rule = 'import-x/no-restricted-paths' } = cases[i];
    const messages = result.planted[i];
    if (says === undefined) expect(messages).toEqual([]);
    else expect(messages).toEqual([expect.stringMatching(new RegExp(`^${rule}: .*${says}`))]);
  });

  it('finds no violation in src/', () => {
    expect(result.src).toEqual([]);
  });
});
