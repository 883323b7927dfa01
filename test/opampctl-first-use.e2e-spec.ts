import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildOpampctl, runOpampctl } from './support/opampctl';
import { startTestServer, TestServer } from './support/test-server';

/**
 * What a new user tripped over. When a manifest is wrong: one clear message per field problem
 * (a missing field is "required", a word where a number belongs is a type error, not every rule
 * of the field), and one "Error from server" per line — also when `edit` keeps the edits in a
 * file. Soft-deleted resources listed with --include-deleted are marked, not shown as live.
 */
describe('opampctl on first use: error messages and deleted resources', () => {
  let server: TestServer;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    buildOpampctl();
    server = await startTestServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-validation-'));
    env = { OPAMPCTL_SERVER: server.baseUrl, OPAMPCTL_TOKEN: server.token, HOME: dir };
    const ok = await runOpampctl(['apply', '-f', 'examples/fleet.yaml'], { env });
    expect(ok.code).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it('a missing body is "required"', async () => {
    const r = await runOpampctl(
      ['apply', '-f', file('no-body.yaml', 'kind: RemoteConfig\napiVersion: v1\nmetadata:\n  name: no-body\nspec:\n  contentType: application/yaml\n')],
      { env },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error from server \(400 Bad Request\): Invalid request: spec\.body: body is required \[\S+no-body\.yaml\]\n$/);
  });

  it('priority: banana is a type error, once; edit says "Error from server" once and keeps the edits', async () => {
    const r = await runOpampctl(
      ['apply', '-f', file('banana.yaml', 'kind: AgentGroup\napiVersion: v1\nmetadata:\n  name: banana\nspec:\n  selector: ""\n  priority: banana\n')],
      { env },
    );
    expect(r.stderr).toMatch(/^Error from server \(400 Bad Request\): Invalid request: spec\.priority: priority must be an integer number \[/);
    const editor = file('editor.sh', '#!/bin/sh\nsed -i "s/priority: 10/priority: banana/" "$1"\n');
    fs.chmodSync(editor, 0o755);
    const edit = await runOpampctl(['edit', 'agentgroup', 'checkout'], { env: { ...env, EDITOR: editor } });
    expect(edit.code).toBe(1);
    expect(edit.stderr.match(/Error from server/g)).toHaveLength(1);
    expect(edit.stderr).toMatch(
      /^Error from server \(400 Bad Request\): Invalid request: spec\.priority: priority must be an integer number; your edits are in \S+\n$/,
    );
  });

  it('marks soft-deleted groups and remote configs in --include-deleted tables', async () => {
    expect((await runOpampctl(['create', 'agentgroup', 'old-group', '--selector', 'x=y'], { env })).code).toBe(0);
    expect((await runOpampctl(['delete', 'agentgroup', 'old-group'], { env })).stdout).toBe('agentgroup/old-group deleted\n');
    const table = (await runOpampctl(['get', 'grp', '--include-deleted'], { env })).stdout.split('\n').filter(Boolean);
    expect(table[0]).toMatch(/^NAME\s+DELETED\s+SELECTOR\s/);
    expect(table.find((l) => l.startsWith('checkout '))).toMatch(/^checkout\s+-\s/);
    expect(table.find((l) => l.startsWith('old-group '))).toMatch(/^old-group\s+\d+s ago\s/);
    // Without deleted rows the column is not there.
    expect((await runOpampctl(['get', 'grp'], { env })).stdout).not.toMatch(/DELETED/);
    expect((await runOpampctl(['get', 'grp', 'old-group', '--include-deleted'], { env })).stdout).toMatch(/\nold-group\s+\d+s ago\s/);

    expect((await runOpampctl(['create', 'remoteconfig', 'old-rc', '--from-file', 'examples/collector.yaml'], { env })).code).toBe(0);
    expect((await runOpampctl(['delete', 'rc', 'old-rc'], { env })).code).toBe(0);
    const rcs = (await runOpampctl(['get', 'rc', '--include-deleted'], { env })).stdout.split('\n');
    expect(rcs[0]).toMatch(/^NAME\s+DELETED\s/);
    expect(rcs.find((l) => l.startsWith('old-rc '))).toMatch(/^old-rc\s+\d+s ago\s/);
    expect(rcs.find((l) => l.startsWith('collector-base '))).toMatch(/^collector-base\s+-\s/);
  });
});
