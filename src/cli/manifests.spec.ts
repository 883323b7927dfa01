import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { manifestFiles, parseManifests, readManifests } from './manifests';

describe('manifests', () => {
  it('reads several YAML documents, skipping empty ones', () => {
    const ms = parseManifests(
      [
        '---',
        'kind: RemoteConfig',
        'metadata: {name: base}',
        'spec: {body: "x: 1"}',
        '---',
        '# only a comment',
        '---',
        'kind: AgentGroup',
        'metadata:',
        '  name: checkout',
        'spec:',
        '  selector: a=b',
        '',
      ].join('\n'),
      'fleet.yaml',
    );
    expect(ms.map((m) => [m.resource.kind, m.resource.metadata?.name, m.source])).toEqual([
      ['RemoteConfig', 'base', 'fleet.yaml#1'],
      ['AgentGroup', 'checkout', 'fleet.yaml#3'],
    ]);
  });

  it('reads JSON: one object, an array, or a List', () => {
    expect(parseManifests('{"kind":"AgentGroup","metadata":{"name":"a"},"spec":{"selector":""}}', 'a.json')).toHaveLength(1);
    expect(
      parseManifests('[{"kind":"AgentGroup","metadata":{"name":"a"}},{"kind":"AgentGroup","metadata":{"name":"b"}}]', 'l.json').map(
        (m) => m.resource.metadata?.name,
      ),
    ).toEqual(['a', 'b']);
    const list = parseManifests(
      JSON.stringify({ kind: 'AgentGroupList', apiVersion: 'v1', items: [{ kind: 'AgentGroup', metadata: { name: 'c' } }] }),
      'list.json',
    );
    expect(list.map((m) => m.resource.metadata?.name)).toEqual(['c']);
  });

  it('keeps multi-line bodies exactly', () => {
    const [m] = parseManifests('kind: RemoteConfig\nmetadata: {name: a}\nspec:\n  body: |\n    receivers:\n      otlp: {}\n', 'a.yaml');
    expect(m.resource.spec?.body).toBe('receivers:\n  otlp: {}\n');
  });

  it('says where a manifest is wrong', () => {
    expect(() => parseManifests('kind: AgentGroup\nmetadata: {name: a}\n---\nmetadata: {name: b}\n', 'f.yaml')).toThrow('f.yaml#2: the manifest has no kind');
    expect(() => parseManifests('kind: AgentGroup\nspec: {}\n', 'f.yaml')).toThrow('f.yaml: AgentGroup has no metadata.name');
    expect(() => parseManifests('kind: [unclosed\n', 'bad.yaml')).toThrow(
      /^bad.yaml: invalid YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
    );
    expect(() => parseManifests('kind: A\nkind: B\nmetadata: {name: a}\n', 'dup.yaml')).toThrow(/dup.yaml: invalid YAML/);
    expect(() => parseManifests('- 1\n', 'n.yaml')).toThrow('n.yaml[0]: a manifest must be an object');
  });

  it('lets enrollment tokens go without a name (the server names them)', () => {
    expect(parseManifests('kind: EnrollmentToken\nspec: {description: x}\n', 't.yaml')).toHaveLength(1);
  });

  it('reads a directory of manifest files in name order, recursively with -R', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opampctl-manifests-'));
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'kind: AgentGroup\nmetadata: {name: b}\n');
    fs.writeFileSync(path.join(dir, 'a.json'), '{"kind":"AgentGroup","metadata":{"name":"a"}}');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a manifest');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'c.yml'), 'kind: AgentGroup\nmetadata: {name: c}\n');
    expect(manifestFiles(dir, false).map((f) => path.basename(f))).toEqual(['a.json', 'b.yaml']);
    expect(manifestFiles(dir, true).map((f) => path.basename(f))).toEqual(['a.json', 'b.yaml', 'c.yml']);
    const fromStdin = await readManifests(['-'], false, async () => 'kind: RemoteConfig\nmetadata: {name: s}\n');
    expect(fromStdin[0].source).toBe('<stdin>');
    await expect(readManifests([path.join(dir, 'sub', 'none.yaml')], false, async () => '')).rejects.toThrow(/does not exist/);
    fs.writeFileSync(path.join(dir, 'sub', 'empty.yaml'), '# nothing\n');
    await expect(readManifests([path.join(dir, 'sub', 'empty.yaml')], false, async () => '')).rejects.toThrow(/no objects found/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
