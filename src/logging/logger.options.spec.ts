import { Writable } from 'node:stream';
import pino from 'pino';
import { pinoOptions, redactUrl } from './logger.options';

describe('log redaction', () => {
  it('never writes credentials from headers or bodies', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const { transport: _t, ...options } = pinoOptions({ logLevel: 'info', logFormat: 'json' });
    const log = pino(options, sink);
    log.info({ req: { headers: { authorization: 'Bearer eyJsecret', cookie: 'occ_oauth_state=n0nce' }, query: { code: 'gh-code', state: 'st' } } }, 'request');
    log.info({ body: { username: 'ada', password: 'hunter2-hunter2', refreshToken: 'ocr_x', token: 'oce_y', deviceCode: 'dc' } }, 'body');
    const text = lines.join('');
    for (const secret of ['eyJsecret', 'n0nce', 'gh-code', 'hunter2', 'ocr_x', 'oce_y', '"dc"']) expect(text).not.toContain(secret);
    expect(text).toContain('ada');
  });

  it('blanks secret query parameters in logged URLs', () => {
    expect(redactUrl('/api/v1/auth/github/callback?code=abc&state=def.ghi')).toBe('/api/v1/auth/github/callback?code=[redacted]&state=[redacted]');
    expect(redactUrl('/api/v1/agents?limit=5')).toBe('/api/v1/agents?limit=5');
  });
});
