import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CliError } from './cli-errors';
import { isObject, Resource } from './resource-fields';

/** Manifests for `apply -f`, `create -f` and `delete -f`: YAML or JSON, several documents per file. */

export interface Manifest {
  resource: Resource;
  /** Where it came from, for messages: `groups.yaml#2`. */
  source: string;
}

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Parses one file's text: YAML documents separated by `---` (JSON is YAML too), a JSON array,
 * or a `List` whose items are the resources. Empty documents are skipped.
 */
export function parseManifests(content: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = parseAllDocuments(content, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${source}#${i + 1}` : source;
    if (doc.errors.length) {
      const e = doc.errors[0];
      const pos = e.linePos?.[0];
      throw new CliError(
        `${where}: invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    flatten(value, where, out);
  });
  return out;
}

function flatten(value: unknown, where: string, out: Manifest[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, `${where}[${i}]`, out));
    return;
  }
  if (!isObject(value)) throw new CliError(`${where}: a manifest must be an object with kind, metadata and spec`);
  if (typeof value.kind === 'string' && /List$/.test(value.kind) && Array.isArray(value.items)) {
    (value.items as unknown[]).forEach((v, i) => flatten(v, `${where} items[${i}]`, out));
    return;
  }
  if (typeof value.kind !== 'string' || !value.kind) throw new CliError(`${where}: the manifest has no kind (e.g. kind: AgentGroup)`);
  // Enrollment tokens are named by the server when created.
  const named = isObject(value.metadata) && typeof value.metadata.name === 'string' && value.metadata.name !== '';
  if (!named && value.kind !== 'EnrollmentToken') {
    throw new CliError(`${where}: ${value.kind} has no metadata.name`);
  }
  out.push({ resource: value as Resource, source: where });
}

/** The files `-f` names: a file, `-` (stdin), or a directory's manifest files (recursively with `-R`). */
export function manifestFiles(target: string, recursive: boolean): string[] {
  if (target === '-') return ['-'];
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new CliError(`the path "${target}" does not exist`);
  }
  if (!st.isDirectory()) return [target];
  const files: string[] = [];
  for (const entry of fs.readdirSync(target, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(target, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...manifestFiles(p, true));
    } else if (MANIFEST_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) files.push(p);
  }
  return files;
}

/** Reads and parses every manifest that the `-f` arguments name, in order. */
export async function readManifests(targets: string[], recursive: boolean, readStdin: () => Promise<string>): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const target of targets) {
    for (const file of manifestFiles(target, recursive)) {
      const content = file === '-' ? await readStdin() : fs.readFileSync(file, 'utf8');
      out.push(...parseManifests(content, file === '-' ? '<stdin>' : file));
    }
  }
  if (!out.length) throw new CliError(`no objects found in ${targets.join(', ')}`);
  return out;
}
