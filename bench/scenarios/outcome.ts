import type { BenchArgs } from '../args';
import { FERRETDB_VERSION } from '../../src/database/embedded-database';
import type { ResultsSection } from '../report';

/** What a scenario hands back to the CLI: a printed table, the JSON record and RESULTS.md rows. */
export interface Outcome {
  exitCode: number;
  summary: [string, string][];
  json: Record<string, unknown>;
  rows: { section: ResultsSection; key: string; cells: string[] }[];
}

/** Which database the server ran against: it sets most figures, so every row names it. */
export function dbName(args: BenchArgs): string {
  return args.mongodbUri ? 'external MongoDB' : args.db === 'memory' ? "server's own cost, in-memory stand-in, no durability" : 'embedded FerretDB';
}

/**
 * The section of RESULTS.md for the database of this run: each database has tables of its own,
 * headed by its name, so that no figure of one is read as the other's.
 */
export function sectionFor(section: ResultsSection, args: BenchArgs): ResultsSection {
  const [key, heading] = args.mongodbUri
    ? ['mongodb', 'external MongoDB (--mongodb-uri)']
    : args.db === 'memory'
      ? ['stand-in', "bench/mini-mongo.ts in-memory stand-in — the server's own cost, no durability, no real database work"]
      : ['ferretdb', `embedded FerretDB ${FERRETDB_VERSION} (SQLite), the local default of \`npm start\``];
  return { ...section, id: `${section.id}@${key}`, title: `${section.title} — on ${heading}` };
}

export function runName(args: BenchArgs, ...parts: string[]): string {
  return [args.transport, `${args.agents.toLocaleString('en-US')} agents`, ...parts, dbName(args)].join(', ') + (args.label ? ` (${args.label})` : '');
}

export const today = () => new Date().toISOString().slice(0, 10);
