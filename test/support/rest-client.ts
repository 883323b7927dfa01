/** A small JSON client for the REST API in tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep, loosely typed JSON
export type Json = any;

export function restClient(apiPort: number, headers: Record<string, string> = {}) {
  const base = `http://127.0.0.1:${apiPort}/api/v1`;
  return async function api(method: string, path: string, body?: unknown): Promise<{ status: number; type: string; body: Json }> {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, type, body: type.includes('json') && text ? JSON.parse(text) : text };
  };
}
