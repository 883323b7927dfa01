import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import { makeProblem, PROBLEM_CONTENT_TYPE } from '../../common/problem-details';

/** Paths the OpAMP listener serves: the spec's, and the one of the original OpAMP Commander. */
export const OPAMP_PATHS = new Set(['/v1/opamp', '/api/v1/opamp']);

export function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?');
  return q < 0 ? (url ?? '/') : (url ?? '/').slice(0, q);
}

/** An HTTP error answer on the OpAMP port, as problem+json for whoever reads it. */
export function answerHttpError(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(makeProblem(status, detail));
  res.writeHead(status, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** The same, written raw on a socket whose upgrade is being refused. */
export function refuseUpgrade(socket: Duplex, status: number, detail: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(makeProblem(status, detail));
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
