/**
 * A worker of `--workers`: what its primary gave it (whether it prints the summary, the
 * start-up key to serve), and, once it serves, the primary's messages: it says it listens,
 * and stops gracefully when asked (rolling restart, the primary's SIGTERM). SIGHUP is the
 * primary's (a rolling restart), never a worker's: a terminal's hangup reaches them all.
 */
import cluster from 'node:cluster';
import { startedWorkerExchange } from './exchange-worker.js';
import { ADMIN_SESSION_SECRET_ENV, GENERATED_KEY_ENV, STOP_MESSAGE, SUMMARY_ENV, listeningMessage } from './messages.js';

export interface WorkerStart {
  /** Print the start-up summary: the first worker only (and a gateway without workers). */
  summary: boolean;
  /** The key the first worker generated, to serve the same one. */
  generatedKey?: string;
  /** The primary's secret for admin sessions, the same in every worker. */
  adminSessionSecret?: string;
}

/** How this process starts: as a worker (what its primary said), or as the one gateway. */
export function workerStart(): WorkerStart {
  if (!cluster.isWorker) return { summary: true };
  const generatedKey = process.env[GENERATED_KEY_ENV];
  const adminSessionSecret = process.env[ADMIN_SESSION_SECRET_ENV];
  // Read once: not left where a child process or a crash report would see them.
  delete process.env[GENERATED_KEY_ENV];
  delete process.env[ADMIN_SESSION_SECRET_ENV];
  return {
    summary: process.env[SUMMARY_ENV] === '1',
    ...(generatedKey === undefined || generatedKey === '' ? {} : { generatedKey }),
    ...(adminSessionSecret === undefined || adminSessionSecret === '' ? {} : { adminSessionSecret }),
  };
}

/**
 * How long a worker asked to stop (rolling restart, the primary's SIGTERM) keeps answering
 * what still reaches it after its listener closed, before its graceful stop: a connection the
 * primary handed it a moment before sends its request within this time.
 */
export const WORKER_DRAIN_MS = 1_000;

export interface ServingWorker {
  generatedKey: string | undefined;
  stop(): Promise<void>;
}

/** Tells the primary this worker serves, and stops when it asks. */
export function serveAsWorker(server: ServingWorker): void {
  if (!cluster.isWorker) return;
  process.on('SIGHUP', () => undefined);
  process.on('message', (message: unknown) => {
    if (message !== STOP_MESSAGE) return;
    // What the worker told the primary as it closed (its last counts) leaves before it exits.
    const drained = (): Promise<void> => startedWorkerExchange()?.drained() ?? Promise.resolve();
    server.stop().then(
      () => drained().then(() => process.exit(0)),
      () => drained().then(() => process.exit(1)),
    );
  });
  process.send?.(listeningMessage(server.generatedKey));
}
