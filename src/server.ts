import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import pino from 'pino';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { EmbeddedDatabase, startEmbeddedDatabase } from './database/embedded-database';
import { DatabaseSupervisor } from './database/database-supervisor';
import { pinoOptions } from './logging/logger.options';
import { answerUnknownMethods } from './common/method-not-allowed';
import { setupOpenApi } from './openapi-document';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { createValidationPipe } from './common/validation';
import { addSecurityHeaders } from './common/security-headers';
import { serverTls } from './common/tls-files';
import { API_MAX_HEADER_BYTES } from './common/request-limits';
import { buildInfo } from './version/build-info';
import { GrpcListener } from './opamp-gateway/transports/grpc-listener';
import { ReplicaRegistry } from './cluster/replica-registry.service';
import { OpampListener } from './opamp-gateway/transports/opamp-listener';
import { instrumentHttp } from './metrics/http-metrics';
import { startMetricsServer } from './metrics/metrics-server';
import { OpampWsAdapter } from './opamp-gateway/transports/opamp-ws.adapter';
import { serveWebUi } from './web-ui/web-ui';
import { acceptStreamedUploads } from './packages/package-upload-body';

/** A started server: its bound ports and how to stop it. */
export interface RunningServer {
  app: NestFastifyApplication;
  apiPort: number;
  opampPort: number;
  grpcPort: number;
  /** Set when metrics have a port of their own (METRICS_PORT). */
  metricsPort?: number;
  database: { uri: string; embedded?: EmbeddedDatabase['kind']; dataPath?: string; supervisor?: DatabaseSupervisor };
  /** Every route of the API port (method and URL pattern), as Fastify registered them. */
  routes: { method: string; url: string }[];
  close(): Promise<void>;
}

/** Path parameters up to this length reach validation (a 400 naming the field) instead of Fastify's bare 414. */
const MAX_PATH_PARAM_LENGTH = 2048;

/** Largest REST request body; agent payloads go to the OpAMP port, not here. */
const API_BODY_LIMIT = 10 * 1024 * 1024;

export interface StartOptions {
  /** The embedded database died and could not be restarted (main.ts exits with status 1). */
  onDatabaseGaveUp?: () => void;
}

/**
 * Starts everything one process runs: the database (embedded when MONGODB_URI is unset), the
 * REST API and the OpAMP listeners. Used by main.ts and by the e2e tests alike.
 */
export async function startServer(config: AppConfig, options: StartOptions = {}): Promise<RunningServer> {
  const bootLog = pino(pinoOptions(config));
  let embedded: EmbeddedDatabase | undefined;
  let supervisor: DatabaseSupervisor | undefined;
  let uri = config.mongodbUri;
  if (!uri) {
    embedded = await startEmbeddedDatabase(config.dataDir, {
      info: (m) => bootLog.info(m),
      warn: (m) => bootLog.warn(m),
    });
    uri = embedded.uri;
    bootLog.info(
      { database: embedded.kind, dataPath: embedded.dataPath, uri: embedded.uri },
      `Embedded ${embedded.kind} started; data lives in ${embedded.dataPath}`,
    );
    if (embedded.exited) {
      const log = bootLog.child({ context: 'DatabaseSupervisor' });
      supervisor = new DatabaseSupervisor(embedded, {
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
        onGiveUp: options.onDatabaseGaveUp,
      });
    }
  }
  const stopDatabase = () => (supervisor ? supervisor.stop() : (embedded?.stop() ?? Promise.resolve()));

  let app: NestFastifyApplication;
  const routes: RunningServer['routes'] = [];
  try {
    const https = serverTls(config);
    const adapter = new FastifyAdapter({
      bodyLimit: API_BODY_LIMIT,
      routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
      trustProxy: config.trustProxy,
      // Node's createServer options: `http` without TLS, the TLS options themselves with it.
      http: { maxHeaderSize: API_MAX_HEADER_BYTES },
      ...(https ? { https: { ...https, maxHeaderSize: API_MAX_HEADER_BYTES } } : {}),
    });
    // Recorded before Nest registers anything, so that a test can check every route is protected.
    adapter.getInstance().addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) routes.push({ method, url: r.url });
    });
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, uri, supervisor), adapter, { bufferLogs: true, abortOnError: false });
  } catch (err) {
    await stopDatabase();
    throw err;
  }
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new OpampWsAdapter(app));
  app.setGlobalPrefix('api/v1', { exclude: ['healthz', 'readyz', 'metrics'] });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter(Math.max(1, Math.ceil(config.database.timeoutMs / 1000))));
  addSecurityHeaders(app.getHttpAdapter().getInstance(), config.tls.certFile !== undefined);
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins.includes('*') ? true : config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate'],
      maxAge: 600,
    });
  }
  instrumentHttp(app.getHttpAdapter().getInstance());
  acceptStreamedUploads(app.getHttpAdapter().getInstance());
  answerUnknownMethods(app.getHttpAdapter().getInstance(), routes);
  await serveWebUi(app.getHttpAdapter().getInstance());
  setupOpenApi(app, buildInfo().version);

  try {
    await app.listen(config.apiPort, config.host);
  } catch (err) {
    await app.close().catch(() => undefined);
    await stopDatabase();
    throw err;
  }
  const apiPort = (app.getHttpServer().address() as AddressInfo).port;
  const metricsServer = config.metricsPort === undefined ? undefined : await startMetricsServer(config.host, config.metricsPort);
  await app.get(ReplicaRegistry).announce({ api: apiPort, opamp: app.get(OpampListener).port, grpc: app.get(GrpcListener).port });

  let closed = false;
  return {
    app,
    apiPort,
    opampPort: app.get(OpampListener).port,
    grpcPort: app.get(GrpcListener).port,
    metricsPort: metricsServer?.port,
    database: { uri, embedded: embedded?.kind, dataPath: embedded?.dataPath, supervisor },
    routes,
    async close() {
      if (closed) return;
      closed = true;
      await metricsServer?.close();
      await app.close();
      await stopDatabase();
    },
  };
}
