import type { BenchArgs } from '../args';
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
  return args.mongodbUri ? 'external MongoDB' : args.db === 'memory' ? 'in-memory DB stand-in' : 'embedded FerretDB';
}

export function runName(args: BenchArgs, ...parts: string[]): string {
  return [args.transport, `${args.agents.toLocaleString('en-US')} agents`, ...parts, dbName(args)].join(', ') + (args.label ? ` (${args.label})` : '');
}

export const today = () => new Date().toISOString().slice(0, 10);
