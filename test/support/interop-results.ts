import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../../src/common/project-paths';

/**
 * Records the outcome of each interop scenario (client × transport × scenario) into
 * <cache>/interop-results/<client>.json, which scripts/interop-matrix.js prints as a table.
 */
export type ScenarioResult = 'pass' | 'fail' | 'skip';

interface Row {
  client: string;
  transport: string;
  scenario: string;
  result: ScenarioResult;
  note?: string;
}

export function resultsDir(): string {
  return process.env.INTEROP_RESULTS_DIR || cacheDir('interop-results');
}

export class InteropResults {
  private readonly rows: Row[] = [];
  private readonly file: string;

  /** `source`: the spec writing these rows, when several specs cover one client (one file each). */
  constructor(
    readonly client: string,
    readonly version: string,
    source?: string,
  ) {
    this.file = path.join(resultsDir(), `${[client, source].filter(Boolean).join(' ').replace(/\W+/g, '-')}.json`);
  }

  record(transport: string, scenario: string, result: ScenarioResult, note?: string): void {
    const i = this.rows.findIndex((r) => r.transport === transport && r.scenario === scenario);
    const row = { client: this.client, transport, scenario, result, ...(note ? { note } : {}) };
    // Several tests may prove one scenario: a failure of any of them stays the cell's result.
    if (i >= 0 && this.rows[i].result === 'fail' && result !== 'fail') return;
    if (i >= 0) this.rows[i] = row;
    else this.rows.push(row);
    this.flush();
  }

  /** Wraps a test body: records pass when it completes, fail when it throws. */
  scenario(transport: string, scenario: string, fn: () => Promise<void>, note?: string): () => Promise<void> {
    return async () => {
      try {
        await fn();
        this.record(transport, scenario, 'pass', note);
      } catch (err) {
        this.record(transport, scenario, 'fail', (err as Error).message.split('\n')[0].slice(0, 200));
        throw err;
      }
    };
  }

  private flush(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const doc = { client: this.client, version: this.version, writtenAt: new Date().toISOString(), rows: this.rows };
    fs.writeFileSync(this.file, `${JSON.stringify(doc, null, 2)}\n`);
  }
}
