/**
 * Starts the gateway: build, listen, fetch the catalog, and stop gracefully on SIGINT/SIGTERM
 * (stop accepting, let open streams finish within the grace period, exit 0).
 */
import { keyHasScope } from './auth/api-keys.js';
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Config } from '#schemas/config.js';
import { buildApp } from './app.js';
import { isLoopbackAddress } from './auth/origins.js';
import { createLogOutput, type LogOutput } from './startup/log-output.js';
import { ensureModelsFilterFile, type FilterFileOutcome } from './startup/models-filter-file.js';
import { PACKAGE_VERSION } from './startup/package-version.js';
import { startupSummary, type BackendReport } from './startup/summary.js';
import { usageDbPath } from './usage/ledger/usage-db-path.js';
import { postgresLocation } from './usage/ledger/postgres-usage-store.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /**
   * First stop taking connections and answer for this many ms whatever still arrives, each
   * answer closing its connection (a worker leaving in a rolling restart: see http/closing-state.ts).
   */
  drainMs?: number;
}

export class StartupError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface StartServerOptions {
  /** Where the summary and the logs go (default process.stdout). */
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The .env file the settings were read from, for the summary. */
  envFileRead?: string | undefined;
  /** false: no start-up summary (the workers of `--workers` after the first). */
  summary?: boolean;
  /** The key the first worker generated at start-up, served by this one too (`--workers`). */
  generatedKey?: string;
  /** Signs admin sessions: the same in every worker of `--workers` (default: random per process). */
  adminSessionSecret?: string;
}

/** After the grace period: how long the stopped answers have to write their error before connections are closed. */
const CLOSE_AFTER_STOP_MS = 1_000;

/** How long the start-up summary waits for the backends' first catalogs. */
const SUMMARY_WAIT_MS = 5_000;

export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const stdout = options.stdout ?? process.stdout;
  const filterFile = config.MODELS_FILTER === undefined ? undefined : ensureModelsFilterFile(config.MODELS_FILTER);
  const logOutput = createLogOutput(config.LOG_FORMAT, stdout);
  let app: FastifyInstance;
  try {
    app = await buildApp({
      config,
      logDestination: logOutput.stream,
      ...(options.generatedKey === undefined ? {} : { generatedKey: options.generatedKey }),
      ...(options.adminSessionSecret === undefined ? {} : { adminSessionSecret: options.adminSessionSecret }),
    });
  } catch (error) {
    logOutput.release();
    throw error;
  }
  try {
    // A deep accept queue: a burst of clients (hundreds of streams opening at once) must not
    // overflow Node's default backlog of 511 and wait out SYN retries.
    await app.listen({ host: config.HOST, port: config.PORT, backlog: 4096 });
  } catch (error) {
    await app.close().catch(() => undefined);
    logOutput.release();
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
  app.log.info({ url }, `ollama-bridge ${PACKAGE_VERSION} (Ollama API ${config.OLLAMA_VERSION}) listening on ${url}`);
  const firstCatalog = app.catalog.start();
  await Promise.race([firstCatalog, new Promise((resolve) => setTimeout(resolve, SUMMARY_WAIT_MS).unref())]);
  if (options.summary === false) logOutput.release();
  else printSummary(stdout, app, config, { boundUrl: url, port, filterFile, envFileRead: options.envFileRead }, logOutput);

  let stopping: Promise<void> | undefined;
  const stop = (options: StopOptions = {}): Promise<void> => {
    stopping ??= (async () => {
      if (options.drainMs !== undefined && options.drainMs > 0) {
        app.log.info({ drainMs: options.drainMs }, 'draining: no new connections; requests that still arrive are answered');
        app.drain();
        await new Promise((resolve) => setTimeout(resolve, options.drainMs));
      }
      app.log.info('shutting down: no new connections; open answers may finish');
      const force = setTimeout(() => {
        // Each open answer ends with its dialect's error (a status, or an in-band error after
        // the first byte); connections still open a moment later are closed.
        const stopped = app.openUpstreamCalls.stopAll();
        app.log.warn({ openAnswers: stopped }, `grace period over; ending ${stopped} open answer${stopped === 1 ? '' : 's'} with an error`);
        setTimeout(() => app.server.closeAllConnections(), CLOSE_AFTER_STOP_MS).unref();
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

/** Wires SIGINT/SIGTERM to a graceful stop; a second signal exits at once, and says so. */
export function stopOnSignals(server: RunningServer): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      server.app.log.warn({ signal }, 'second signal: forcing the exit now, without waiting for open answers');
      process.exit(1);
    }
    received = true;
    server.app.log.info({ signal }, 'signal received');
    server.stop().then(
      () => {
        server.app.log.info('ollama-bridge stopped');
        process.exit(0);
      },
      (error: unknown) => {
        server.app.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Prints the start-up summary (the generated key, if any, only there: never to the log), then lets the held-back logs through. */
interface StartFacts {
  boundUrl: string;
  port: number;
  filterFile: FilterFileOutcome | undefined;
  envFileRead: string | undefined;
}

function printSummary(stdout: NodeJS.WritableStream, app: FastifyInstance, config: Config, facts: StartFacts, logOutput: LogOutput): void {
  const { boundUrl, port, filterFile } = facts;
  const snapshot = app.catalog.freshSnapshot();
  const backends: BackendReport[] = [];
  const counts = new Map<string, number>();
  for (const entry of snapshot?.entries ?? []) if (entry.alias === undefined) counts.set(entry.adapter.name, (counts.get(entry.adapter.name) ?? 0) + 1);
  const states = app.catalog.backendStates();
  const report = (name: string, label: string, url: string): void => {
    const state = states.find((backend) => backend.name === name);
    const problem = state?.lastError;
    backends.push({ label, url, models: state?.state === 'up' ? counts.get(name) ?? 0 : undefined, ...(problem === undefined ? {} : { problem }) });
  };
  if (config.OPENROUTER_API_KEY) report('openrouter', 'OpenRouter', config.OPENROUTER_BASE_URL);
  if (config.OLLAMA_BASE_URL) report('ollama', 'Ollama', config.OLLAMA_BASE_URL);
  const loopback = isLoopbackAddress(config.HOST);
  const keyRing = app.keyRing;
  stdout.write(startupSummary({
    version: PACKAGE_VERSION,
    ollamaApiVersion: config.OLLAMA_VERSION,
    boundUrl,
    clientUrls: clientUrls(config.HOST, port),
    backends,
    servedModels: snapshot?.entries.length,
    filter: filterFile,
    envFileRead: facts.envFileRead,
    keys: { count: keyRing.size, file: config.BRIDGE_KEYS_FILE, generated: app.generatedKey, admin: keyRing.keys.filter((key) => keyHasScope(key, 'admin')).length },
    openOnNetwork: !keyRing.enabled && !loopback,
    generateKeyIgnored: !config.BRIDGE_GENERATE_KEY || app.generatedKey !== undefined
      ? undefined
      : loopback ? `${config.HOST} is a loopback address, where no key is needed` : 'client keys are configured',
    trustProxy: config.TRUST_PROXY,
    usageDb: !config.USAGE ? undefined : config.DATABASE_URL === undefined ? usageDbPath(config.USAGE_DB) : `PostgreSQL at ${postgresLocation(config.DATABASE_URL)}`,
  }));
  logOutput.release();
}

/** URLs a client can reach: the bound address, or for a wildcard bind each of the machine's addresses. */
function clientUrls(host: string, port: number): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [`http://${host.includes(':') ? `[${host}]` : host}:${port}`];
  const addresses: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4') addresses.push(entry.address);
  }
  addresses.sort((left, right) => Number(right !== '127.0.0.1') - Number(left !== '127.0.0.1'));
  return (addresses.length > 0 ? addresses : ['127.0.0.1']).map((address) => `http://${address}:${port}`);
}
