import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/app-config';

/** Paths never logged: credentials of users and agents, in headers, query strings and objects. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'req.query.code',
  'req.query.state',
  '*.password',
  '*.token',
  '*.secret',
  '*.accessToken',
  '*.refreshToken',
  '*.deviceCode',
  '*.clientSecret',
  '*.access_token',
  '*.refresh_token',
  '*.device_code',
  '*.client_secret',
];

/** Query parameters that carry secrets (OAuth code and state, tokens): their values are replaced in logged URLs. */
const SECRET_QUERY = /([?&](?:code|state|token|access_token|refresh_token|device_code|client_secret)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

/** pino options shared by the HTTP logger and the standalone start-up logger. */
export function pinoOptions(config: Pick<AppConfig, 'logLevel' | 'logFormat'>) {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    transport: config.logFormat === 'pretty' ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } } : undefined,
  };
}

/** nestjs-pino settings: one structured line per request, each with a request id. */
export function loggerParams(config: AppConfig): Params {
  return {
    // nestjs-pino's default ('*') is a legacy path Nest warns about (once per middleware) at every start.
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
    pinoHttp: {
      ...pinoOptions(config),
      base: { replica: config.replicaId },
      serializers: {
        req: (req: { url?: string }) => {
          if (typeof req.url === 'string') req.url = redactUrl(req.url);
          return req;
        },
      },
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      // Probes and scrapes every few seconds would drown the useful lines.
      autoLogging: { ignore: (req: IncomingMessage) => /^\/(healthz|readyz|metrics)\b/.test(req.url ?? '') },
    },
  };
}
