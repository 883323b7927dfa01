import pino from 'pino';
import { ConfigError, loadConfig, redactedSettings } from './config/app-config';
import { NoDatabaseError } from './database/embedded-database';
import { pinoOptions } from './logging/logger.options';
import { RunningServer, startServer } from './server';

/** Entry point of `npm start`: validate configuration, start, and stop cleanly on a signal. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = pino(pinoOptions(config));
  log.info({ settings: redactedSettings(), configFile: config.source.file }, 'Starting OpAMP Commander');

  let server: RunningServer | undefined;
  let stopping = false;
  let exitCode = 0;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${reason}: draining and shutting down`);
    const force = setTimeout(
      () => {
        log.error('Shutdown took too long; exiting');
        process.exit(1);
      },
      (config.shutdownGraceSeconds + 10) * 1000,
    );
    force.unref();
    try {
      await server?.close();
      log.info('Stopped');
      process.exit(exitCode);
    } catch (err) {
      log.error({ err }, 'Shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM received'));
  process.on('SIGINT', () => void stop('SIGINT received'));

  try {
    server = await startServer(config, {
      // The embedded database died for good: exit 1, so that whatever runs the server restarts it.
      onDatabaseGaveUp: () => {
        exitCode = 1;
        void stop('The embedded database is lost');
      },
    });
  } catch (err) {
    if (err instanceof NoDatabaseError) {
      log.fatal(err.message);
      process.exit(1);
    }
    const e = err as NodeJS.ErrnoException;
    log.fatal(e.code === 'EADDRINUSE' ? `Cannot listen: ${e.message}` : (e.stack ?? String(e)));
    process.exit(1);
  }
  if (stopping) return;
  log.info(
    { apiPort: server.apiPort, opampPort: server.opampPort, grpcPort: server.grpcPort, database: server.database.embedded ?? 'external' },
    `OpAMP Commander is up: API http://${config.host}:${server.apiPort}/api/v1, OpAMP ws://${config.host}:${server.opampPort}/v1/opamp, gRPC ${config.host}:${server.grpcPort}`,
  );
}

void main();
