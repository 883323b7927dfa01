import type { RunningServer } from '../../src/server';

/** Reads one agent through the REST API, with the test server's admin token. */
export async function getAgent(server: RunningServer & { authHeaders?: Record<string, string> }, uid: string) {
  const res = await fetch(`http://127.0.0.1:${server.apiPort}/api/v1/agents/${uid}`, { headers: server.authHeaders ?? {} });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Polls `fn` until `ok` holds or time runs out; returns the last value either way. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
