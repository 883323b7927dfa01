import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * One owner per collection: each Mongoose model is registered by one module, and injected only
 * into the repository beside it, which that module provides and exports. Everything else asks
 * the repository. The lint rule (eslint.config.mjs) refuses @InjectModel outside repositories;
 * this spec checks the registrations and that the rule is in force.
 */
const root = join(__dirname, '..');
const src = join(root, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' ? [] : sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [p] : [];
  });
}

const files = sources(src).map((p) => ({ path: relative(root, p), text: readFileSync(p, 'utf8') }));

/** Model name → the files registering it with MongooseModule.forFeature. */
function registrations(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of files) {
    for (const call of f.text.matchAll(/MongooseModule\.forFeature\(\[([\s\S]*?)\]\)/g)) {
      for (const m of call[1].matchAll(/name:\s*(\w+)\.name/g)) out.set(m[1], [...(out.get(m[1]) ?? []), f.path]);
    }
  }
  return out;
}

describe('one owner per collection', () => {
  it('registers every model in exactly one module', () => {
    const registered = registrations();
    expect(registered.size).toBeGreaterThanOrEqual(10);
    const twice = [...registered].filter(([, where]) => where.length > 1).map(([model, where]) => `${model}: ${where.join(', ')}`);
    expect(twice).toEqual([]);
  });

  it('injects each model only into a repository beside the module that registers it', () => {
    const registered = registrations();
    const misplaced: string[] = [];
    let injections = 0;
    for (const f of files) {
      for (const m of f.text.matchAll(/@InjectModel\((\w+)\.name\)/g)) {
        injections++;
        const owner = registered.get(m[1])?.[0];
        if (!f.path.endsWith('.repository.ts')) misplaced.push(`${f.path} injects ${m[1]} (not a repository)`);
        else if (!owner) misplaced.push(`${f.path} injects ${m[1]}, which no module registers`);
        else if (dirname(owner) !== dirname(f.path)) misplaced.push(`${f.path} injects ${m[1]}, registered by ${owner}`);
      }
    }
    expect(misplaced).toEqual([]);
    expect(injections).toBeGreaterThanOrEqual(10);
  });

  it('fails the lint for a model injected outside a repository, and passes it inside one', () => {
    const planted = [
      "import { InjectModel } from '@nestjs/mongoose';",
      "import type { Model } from 'mongoose';",
      "import { Agent } from '../agents/agent.schema';",
      'export class Planted {',
      '  constructor(@InjectModel(Agent.name) readonly agents: Model<Agent>) {}',
      '}',
      '',
    ].join('\n');
    const lint = (filename: string) =>
      spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', filename, '--format', 'json'], {
        cwd: root,
        input: planted,
        encoding: 'utf8',
      });
    const messages = (r: ReturnType<typeof lint>) => (JSON.parse(r.stdout) as { messages: { ruleId: string; message: string }[] }[])[0].messages;

    const inService = lint('src/agent-groups/planted.service.ts');
    expect(messages(inService)).toEqual([expect.objectContaining({ ruleId: 'no-restricted-syntax', message: expect.stringMatching(/Only a repository/) })]);
    expect(inService.status).toBe(1);

    const inRepository = lint('src/agent-groups/planted.repository.ts');
    expect(messages(inRepository)).toEqual([]);
    expect(inRepository.status).toBe(0);
  });

  it('fails the lint for collections read by name outside a repository or the database infrastructure', () => {
    const planted = [
      "import { InjectConnection } from '@nestjs/mongoose';",
      "import type { Connection } from 'mongoose';",
      'export class Planted {',
      '  constructor(@InjectConnection() readonly connection: Connection) {}',
      '}',
      '',
    ].join('\n');
    const lint = (filename: string) =>
      spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', filename, '--format', 'json'], {
        cwd: root,
        input: planted,
        encoding: 'utf8',
      });
    const errors = (filename: string) => (JSON.parse(lint(filename).stdout) as { messages: { message: string }[] }[])[0].messages.map((m) => m.message);
    expect(errors('src/audit/planted.service.ts')).toEqual([expect.stringMatching(/reads collections by name/)]);
    expect(errors('src/audit/planted.repository.ts')).toEqual([]);
    expect(errors('src/database/planted.metrics.ts')).toEqual([]);
  });
});
