import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { projectRoot } from '../common/project-paths';

/**
 * Content-Security-Policy of the web UI's pages: scripts, styles and API calls from this origin
 * only (no inline scripts, no eval), nothing may frame the pages. `styleNonce` (fresh for each
 * page) lets the UI's own code add <style> elements (CodeMirror's editor styles) that carry it;
 * style attributes are allowed (they cannot run script) and scripts get no nonce at all.
 */
export function pageCsp(styleNonce?: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    styleNonce ? `style-src 'self' 'nonce-${styleNonce}'` : "style-src 'self'",
    // Style attributes cannot run script, and the config page's editor DOM gets some (measured: two on the revision
    // diff page in Chromium; CodeMirror itself sets styles through the CSSOM, which CSP does not govern).
    "style-src-attr 'unsafe-inline'",
    ...CSP_REST,
  ].join('; ');
}

const CSP_REST = [
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/** The meta element the UI reads its style nonce from (web/src/components/codemirror.ts). */
export const STYLE_NONCE_META = 'csp-style-nonce';

/** Where `npm run build` puts the web UI (web/ built by Vite). */
export function webUiRoot(): string {
  return path.join(projectRoot(), 'dist', 'web');
}

/** Paths that belong to the API and the probes, never to the UI: an unknown one stays a 404 problem. */
const NOT_UI = /^\/(api|healthz|readyz|metrics)(\/|$|\?)/;

/**
 * Serves the web UI at `/` on the API port: the built files as they are (hashed assets cached
 * for good), and index.html for every other GET that is not an API path, so that client-side
 * routes (/agents/…) survive a reload or a shared link.
 */
export async function serveWebUi(fastify: FastifyInstance, root = webUiRoot()): Promise<void> {
  await fastify.register(fastifyStatic, { root, serve: false, index: false });
  const built = () => fs.existsSync(path.join(root, 'index.html'));

  const page = async (reply: FastifyReply) => {
    if (!built()) {
      return reply
        .code(404)
        .header('content-security-policy', pageCsp())
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built: run `npm run build`.\n');
    }
    // A fresh nonce per page (base64 of 128 random bits), so a page can never reuse another's.
    const nonce = randomBytes(16).toString('base64');
    const html = await fs.promises.readFile(path.join(root, 'index.html'), 'utf8');
    const meta = `<meta name="${STYLE_NONCE_META}" content="${nonce}">`;
    const withNonce = html.includes('</head>') ? html.replace('</head>', `${meta}</head>`) : meta + html;
    return reply.header('content-security-policy', pageCsp(nonce)).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(withNonce);
  };

  fastify.get('/', (_req, reply) => page(reply));
  fastify.get('/*', (req: FastifyRequest, reply: FastifyReply) => {
    const pathname = decodeURIComponent(req.url.split('?')[0]);
    if (NOT_UI.test(pathname)) return reply.callNotFound();
    const rel = path.posix.normalize(pathname).replace(/^\/+/, '');
    const file = path.join(root, rel);
    if (rel && !rel.startsWith('..') && file.startsWith(root + path.sep) && isFile(file)) {
      const hashed = rel.startsWith('assets/');
      return reply.sendFile(rel, { immutable: hashed, maxAge: hashed ? 31_536_000_000 : 0 });
    }
    // A missing file (a name with an extension) is a 404; anything else is a route of the UI.
    if (/\.[a-z0-9]{1,8}$/i.test(rel)) return reply.callNotFound();
    return page(reply);
  });
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
