import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GoAgent, goAgentBinary } from './support/go-agent';
import { ROOT } from './support/process';
import { buildOpampctl, OpampctlRun, runOpampctl } from './support/opampctl';
import { startTestServer, TEST_ADMIN, TestServer } from './support/test-server';

/**
 * Every `opampctl …` command the README and the manual (docs/*.md) show (in ```sh blocks, and in
 * inline code) runs as shown against a real server, in the order shown (README first, then the
 * pages by name), with an opamp-go agent for the group to
 * configure; and every manifest in examples/ applies, then applies again unchanged. A command
 * added to a document that does not work fails here; the few that need something outside (GitHub)
 * or a terminal are listed below with the reason, and a listed command no document shows any
 * more fails too, so the lists cannot go stale.
 */

/** Shown in the README or docs/, not run here. */
const SKIPPED: Record<string, string> = {
  'opampctl login --github': 'signs in at GitHub (tested against a fake GitHub in opampctl.e2e-spec.ts)',
  'opampctl describe agents -l …': 'an elided selector, not a command',
  'opampctl login': 'names the command; the ```sh block shows it in full',
};

/** Run with a change, because of what a test cannot give: a terminal, or forever. */
const ADAPTED: Record<string, { args: (args: string[]) => string[]; input?: string; why: string }> = {
  'opampctl login --username admin': {
    args: (a) => [...a, '--password-stdin'],
    input: `${TEST_ADMIN.password}\n`,
    why: 'the password prompt needs a terminal: the password comes on stdin',
  },
  'opampctl get agents -w': { args: (a) => [...a, '--timeout', '3s'], why: 'a watch runs until Ctrl-C: stopped after 3 s' },
};

/** README.md, then every docs/*.md in name order: the order a reader meets them, and the order the commands run. */
function documents(): string[] {
  const docs = path.join(ROOT, 'docs');
  const pages = fs.existsSync(docs) ? (fs.readdirSync(docs, { recursive: true }) as string[]).filter((f) => f.endsWith('.md')).sort() : [];
  return ['README.md', ...pages.map((f) => path.join('docs', f))];
}

/** The `opampctl …` commands of one document, in order, comments dropped. */
function commandsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    for (const line of block[1].replace(/\\\n\s*/g, ' ').split('\n')) if (/^opampctl\s/.test(line.trim())) out.push(stripComment(line.trim()));
  }
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  for (const span of prose.matchAll(/`(opampctl [^`]+)`/g)) out.push(span[1].trim());
  return out;
}

/** The `opampctl …` commands of the README and every docs/*.md, in order, each once. */
function shownCommands(): string[] {
  return [...new Set(documents().flatMap(commandsOf))];
}

function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) quote = c === quote ? '' : quote;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && /\s/.test(line[i - 1] ?? ' ')) return line.slice(0, i).trim();
  }
  return line;
}

/** Shell words: spaces split, quotes group (no expansion: the README's commands need none). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** `-o json|yaml` shows alternatives: each is run. */
function alternatives(args: string[]): string[][] {
  const i = args.findIndex((a) => /^[a-z]+(\|[a-z]+)+$/.test(a));
  if (i < 0) return [args];
  return args[i].split('|').flatMap((alt) => alternatives([...args.slice(0, i), alt, ...args.slice(i + 1)]));
}

describe('the README’s opampctl commands work as shown', () => {
  let server: TestServer;
  let dir: string;
  let agent: GoAgent;
  const run = (args: string[], input?: string): Promise<OpampctlRun> =>
    runOpampctl(args, { input, env: { OPAMPCTL_CONFIG: path.join(dir, 'opampctl.yaml'), HOME: dir }, cwd: ROOT, timeoutMs: 120_000 });

  beforeAll(async () => {
    buildOpampctl();
    goAgentBinary();
    server = await startTestServer({ OPAMP_HEARTBEAT_INTERVAL_SECONDS: '1' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-commands-'));
    // The agent the README's group configures (and `wait agentgroup checkout` waits for).
    agent = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'checkout']);
    await agent.event('started');
  }, 600_000);
  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the commands of the README and of docs/, and the lists of exceptions name only commands still shown', () => {
    const shown = shownCommands();
    expect(shown.length).toBeGreaterThanOrEqual(10);
    // The manual moved to docs/: its pages are read too (the CLI page alone shows a dozen commands).
    expect(commandsOf('README.md').length).toBeGreaterThanOrEqual(5);
    expect(commandsOf(path.join('docs', 'cli.md')).length).toBeGreaterThanOrEqual(10);
    for (const listed of [...Object.keys(SKIPPED), ...Object.keys(ADAPTED)]) expect(shown).toContain(listed);
  });

  it('runs each command in order, each exiting 0', async () => {
    const failures: string[] = [];
    for (const command of shownCommands()) {
      if (SKIPPED[command]) continue;
      // The README's server is the one a user runs locally; here it is the test server.
      const adapted = ADAPTED[command];
      const base = words(command.replaceAll('http://localhost:8080', server.baseUrl)).slice(1);
      for (const args of alternatives(adapted ? adapted.args(base) : base)) {
        const r = await run(args, adapted?.input);
        if (r.code !== 0) failures.push(`${command}${adapted ? ` (run as: opampctl ${args.join(' ')})` : ''}: exit ${r.code}\n${r.stderr}${r.stdout}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('runs the context commands of the README’s table without `config` too', async () => {
    expect((await run(['get-contexts'])).stdout).toMatch(/^CURRENT\s+NAME\s+SERVER\s+USER\n\*\s+local\s/);
    expect((await run(['current-context'])).stdout).toBe('local\n');
    expect((await run(['config', 'current-context'])).stdout).toBe('local\n');
  });
});

describe('examples/ manifests apply, and apply again unchanged', () => {
  let server: TestServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    buildOpampctl();
    server = await startTestServer();
    env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: os.tmpdir() };
  }, 600_000);
  afterAll(() => server?.close());

  const apply = async (file: string) => {
    const r = await runOpampctl(['apply', '-f', file], { env });
    if (r.code !== 0) throw new Error(`opampctl apply -f ${file}: exit ${r.code}\n${r.stderr}${r.stdout}`);
    return r.stdout.split('\n').filter((l) => l && !l.startsWith('Token (shown once)'));
  };

  it('applies each file, in an order where references resolve, then each again unchanged', async () => {
    expect(await apply('examples/remoteconfig.yaml')).toEqual(['remoteconfig/collector-base created']);
    expect(await apply('examples/agentgroup.yaml')).toEqual(['agentgroup/checkout created']);
    const token = await runOpampctl(['apply', '-f', 'examples/enrollment-token.yaml'], { env });
    expect(token.stdout).toMatch(/^token\/\S+ created\nToken \(shown once\): \S+\n$/);
    for (const file of ['examples/remoteconfig.yaml', 'examples/agentgroup.yaml', 'examples/enrollment-token.yaml'])
      expect((await apply(file)).every((l) => l.endsWith(' unchanged'))).toBe(true);
    // The fleet file holds the same three: all unchanged.
    expect(await apply('examples/fleet.yaml')).toEqual([
      expect.stringMatching(/^remoteconfig\/collector-base unchanged$/),
      expect.stringMatching(/^token\/\S+ unchanged$/),
      'agentgroup/checkout unchanged',
    ]);
    // A package version never changes: apply creates it, then finds it as the file says.
    expect(await apply('examples/package.yaml')).toEqual(['package/otelcol-contrib@0.149.0 created']);
    expect(await apply('examples/package.yaml')).toEqual(['package/otelcol-contrib@0.149.0 unchanged']);
    const tokens = JSON.parse((await runOpampctl(['get', 'tokens', '-o', 'json'], { env })).stdout).items;
    expect(tokens).toHaveLength(1);
  });

  it('applies the multi-document fleet file on an empty server, then again unchanged', async () => {
    const other = await startTestServer();
    try {
      const e = { OPAMPCTL_SERVER: other.baseUrl, OPAMPCTL_TOKEN: other.token, HOME: os.tmpdir() };
      const first = await runOpampctl(['apply', '-f', 'examples/fleet.yaml'], { env: e });
      expect(first.stdout).toMatch(/^remoteconfig\/collector-base created\ntoken\/\S+ created\nToken \(shown once\): \S+\nagentgroup\/checkout created\n$/);
      const again = await runOpampctl(['apply', '-f', 'examples/fleet.yaml'], { env: e });
      expect(again.stdout).toMatch(/^remoteconfig\/collector-base unchanged\ntoken\/\S+ unchanged\nagentgroup\/checkout unchanged\n$/);
    } finally {
      await other.close();
    }
  });
});
