/**
 * `--workers N` (N > 1): this process forks N workers (node:cluster), each a whole gateway,
 * all serving the same port; it serves nothing itself. The first worker starts alone (it
 * prints the start-up summary, runs the usage database's migrations and generates the
 * start-up key, if one is needed), then the others, which serve the same key and print no
 * summary. A worker that dies is replaced, after a delay that doubles with each death in a
 * row (up to 30 s). SIGHUP restarts the workers one at a time (each replacement serves
 * before its predecessor stops: the port never goes unanswered); SIGTERM or SIGINT stops
 * them all gracefully (each lets its open answers finish), then this process exits 0. It also
 * carries what the workers share (exchange-primary.ts): `/metrics` summed over workers (and
 * the counts of workers that closed), the admin Live feed, admin sign-outs.
 */
import cluster, { type Worker } from 'node:cluster';
import { pino, type Logger } from 'pino';
import type { Config } from '#schemas/config.js';
import { createLogOutput } from '../startup/log-output.js';
import { randomBytes } from 'node:crypto';
import { PrimaryExchange } from './exchange-primary.js';
import { ADMIN_SESSION_SECRET_ENV, GENERATED_KEY_ENV, STOP_MESSAGE, SUMMARY_ENV, isListeningMessage } from './messages.js';
import { keepSignOuts } from './kept-sign-outs.js';
import { keepLimiterForWorkers } from './limiter-across-workers.js';
import { relayLive } from './live-relay.js';
import { keepRetiredMetrics } from './retired-metrics.js';

const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that served this long before dying starts the backoff again. */
const STABLE_AFTER_MS = 30_000;

export interface PrimaryOptions {
  workers: number;
  config: Config;
}

export async function runPrimary(options: PrimaryOptions): Promise<void> {
  const output = createLogOutput(options.config.LOG_FORMAT);
  output.release();
  const log = pino({ level: options.config.LOG_LEVEL, base: { pid: process.pid, role: 'primary' } }, output.stream);
  const primary = new Primary(options.workers, log);
  await primary.start();
}

class Primary {
  private readonly workers = new Set<Worker>();
  /** Workers being replaced or stopped on purpose: their exit is not a death. */
  private readonly leaving = new Set<Worker>();
  /** Workers that said they serve: they stop when asked; one still starting is sent SIGTERM instead. */
  private readonly serving = new WeakSet<Worker>();
  private generatedKey: string | undefined;
  /** Signs admin sessions in every worker (a restart of the whole gateway signs everyone out). */
  private readonly adminSessionSecret = randomBytes(32).toString('base64url');
  private stopping = false;
  private rolling: Promise<void> | undefined;
  private deathsInARow = 0;
  /** What the workers tell each other: metrics, the Live feed, sign-outs. */
  private readonly exchange = new PrimaryExchange();

  constructor(private readonly count: number, private readonly log: Logger) {
    keepRetiredMetrics(this.exchange);
    relayLive(this.exchange);
    keepSignOuts(this.exchange);
    keepLimiterForWorkers(this.exchange);
  }

  async start(): Promise<void> {
    // Before the first fork: a signal while the workers start stops them too.
    process.on('SIGHUP', () => void this.rollingRestart());
    process.on('SIGTERM', (signal) => void this.stop(signal));
    process.on('SIGINT', (signal) => void this.stop(signal));
    const first = this.fork(true);
    const listening = await this.listening(first);
    if (this.stopping) return;
    if (!listening) {
      // Its error is on stderr already (port in use, unreadable keys file…): exit as it did.
      const code = first.process.exitCode ?? 1;
      process.exit(code === 0 ? 1 : code);
    }
    await Promise.all(Array.from({ length: this.count - 1 }, () => this.listening(this.fork(false))));
    if (this.stopping) return;
    this.log.info({ workers: this.count }, `${this.count} workers serving; SIGHUP restarts them one at a time, SIGTERM stops them`);
  }

  private fork(first: boolean): Worker {
    const env: Record<string, string> = { [ADMIN_SESSION_SECRET_ENV]: this.adminSessionSecret };
    if (first) env[SUMMARY_ENV] = '1';
    if (this.generatedKey !== undefined) env[GENERATED_KEY_ENV] = this.generatedKey;
    const worker = cluster.fork(env);
    const startedAt = Date.now();
    this.workers.add(worker);
    this.exchange.attach(worker);
    worker.on('message', (message: unknown) => {
      if (!isListeningMessage(message)) return;
      this.serving.add(worker);
      if (message.generatedKey !== undefined) this.generatedKey ??= message.generatedKey;
    });
    worker.once('exit', (code, signal) => {
      this.workers.delete(worker);
      if (this.leaving.delete(worker) || this.stopping) return;
      const servedLong = Date.now() - startedAt > STABLE_AFTER_MS;
      this.deathsInARow = servedLong ? 1 : this.deathsInARow + 1;
      const delay = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (this.deathsInARow - 1));
      this.log.error({ worker: worker.id, workerPid: worker.process.pid, code, signal, restartInMs: delay }, 'a worker died; starting a replacement');
      setTimeout(() => {
        if (!this.stopping) this.fork(false);
      }, delay);
    });
    return worker;
  }

  /** Resolves true once the worker serves, false if it exits first. */
  private listening(worker: Worker): Promise<boolean> {
    return new Promise((resolve) => {
      const onMessage = (message: unknown): void => {
        if (!isListeningMessage(message)) return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(true);
      };
      const onExit = (): void => {
        worker.off('message', onMessage);
        resolve(false);
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  /** One worker at a time: its replacement serves first, then it stops gracefully. */
  private rollingRestart(): Promise<void> {
    if (this.stopping || this.workers.size < this.count) return Promise.resolve();
    this.rolling ??= (async () => {
      this.log.info({ workers: this.workers.size }, 'SIGHUP: restarting the workers one at a time');
      for (const old of [...this.workers]) {
        if (this.stopping) break;
        const replacement = this.fork(false);
        if (!(await this.listening(replacement))) {
          this.log.error({ worker: old.id }, 'a replacement worker did not start; the rolling restart stops here, the old workers keep serving');
          break;
        }
        await this.retire(old);
      }
      this.log.info({ workers: this.workers.size }, 'rolling restart done');
    })().finally(() => {
      this.rolling = undefined;
    });
    return this.rolling;
  }

  /** Asks a worker to stop gracefully and waits for its exit. */
  private async retire(worker: Worker): Promise<void> {
    if (worker.isDead()) return;
    this.leaving.add(worker);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    if (this.serving.has(worker)) worker.send(STOP_MESSAGE);
    else worker.process.kill('SIGTERM');
    await exited;
  }

  private async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) {
      this.log.warn({ signal }, 'second signal: killing the workers now');
      for (const worker of this.workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    this.stopping = true;
    this.log.info({ signal, workers: this.workers.size }, 'stopping the workers; open answers may finish');
    await Promise.all([...this.workers].map((worker) => this.retire(worker)));
    this.log.info({}, 'ollama-bridge stopped');
    process.exit(0);
  }
}
