import * as fs from 'node:fs';
import type { EmbeddedDatabase } from '../../src/database/embedded-database';

export default async function globalTeardown(): Promise<void> {
  const db = (globalThis as { __testDatabase?: EmbeddedDatabase }).__testDatabase;
  if (!db) return;
  await db.stop();
  fs.rmSync(db.dataPath, { recursive: true, force: true });
}
