/**
 * Starts the gateway: build, listen, fetch the catalog, and stop gracefully on SIGINT/SIGTERM
 * (stop accepting, let open streams finish within the grace period, exit 0).
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '#schemas/config.js';
import { buildApp } from './app.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'StartupError';
  }
}

export async function startServer(config: Config): Promise<RunningServer> {
  const app = await buildApp({ config });
  try {
    // A deep accept queue: a burst of clients (hundreds of streams opening at once) must not
    // overflow Node's default backlog of 511 and wait out SYN retries.
    await app.listen({ host: config.HOST, port: config.PORT, backlog: 4096 });
  } catch (error) {
    await app.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new StartupError(
        `port ${config.PORT} on ${config.HOST} is already in use (is Ollama itself running?); choose another with --port or PORT`,
        1,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new StartupError(`cannot listen on ${config.HOST}: no such local address`, 1);
    }
    if (code === 'EACCES') throw new StartupError(`not allowed to listen on port ${config.PORT}`, 1);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  app.log.info({ url }, `ollama-bridge ${config.OLLAMA_VERSION === undefined ? '' : `(Ollama API ${config.OLLAMA_VERSION}) `}listening on ${url}`);
  if (app.generatedKey !== undefined) {
    // Printed once, on stdout, for the operator: never through the logger.
    process.stdout.write(
      `\nNo client API keys are configured and ollama-bridge listens on ${config.HOST}, so it generated one for this run.\n` +
        `Send it as "Authorization: Bearer <key>", or give URL-only clients ${url.replace(/\/$/, '')}/key/<key> as the server URL:\n${app.generatedKey}\n\n`,
    );
  }
  void app.catalog.start();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      app.log.info('shutting down: no new connections; open answers may finish');
      const force = setTimeout(() => {
        app.log.warn('grace period over; closing the remaining connections');
        app.server.closeAllConnections();
      }, config.SHUTDOWN_GRACE_MS);
      force.unref();
      // A connection whose answer just finished goes idle on keep-alive: close it then, so the
      // process exits as soon as the last open answer is done.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      sweep.unref();
      await app.close();
      clearTimeout(force);
      clearInterval(sweep);
    })();
    return stopping;
  };
  return { app, url, stop };
}

/** Wires SIGINT/SIGTERM to a graceful stop; a second signal exits at once. */
export function stopOnSignals(server: RunningServer): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) process.exit(1);
    received = true;
    server.app.log.info({ signal }, 'signal received');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        server.app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
