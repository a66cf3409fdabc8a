/**
 * A worker's side of the exchange with the other workers of `--workers`, through the primary:
 * `gather` asks every other worker for its report on a topic (the primary may add its own) and
 * resolves with the answers; `tell` sends the primary a one-way message, which it may pass on
 * to other workers (`hear`). `workerExchange()` is undefined outside a worker: a gateway
 * without workers sends nothing.
 */
import cluster from 'node:cluster';
import { EXCHANGE, isExchangeMessage, type ExchangeMessage } from './messages.js';

/** A gather that gets no answer from the primary in this time resolves with none. */
const GATHER_TIMEOUT_MS = 3_000;

export type Reporter = (payload: unknown) => unknown;
export type Hearer = (payload: unknown) => void;

export class WorkerExchange {
  private nextId = 1;
  private readonly waiting = new Map<number, (answers: unknown[]) => void>();
  private readonly reporters = new Map<string, Reporter>();
  private readonly hearers = new Map<string, Set<Hearer>>();
  private sending = 0;
  private readonly drainedListeners: Array<() => void> = [];

  constructor(private readonly channel: (message: ExchangeMessage, sent: () => void) => void) {
    this.send({ type: EXCHANGE.hello });
  }

  /** The other workers' answers on a topic (and the primary's, last); none when the primary does not answer in time. */
  gather(topic: string, payload?: unknown, timeoutMs = GATHER_TIMEOUT_MS): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish([]), timeoutMs);
      const finish = (answers: unknown[]): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answers);
      };
      this.waiting.set(id, finish);
      this.send({ type: EXCHANGE.gather, id, topic, payload });
    });
  }

  /** What this worker answers when another gathers the topic (until the returned function is called). */
  report(topic: string, reporter: Reporter): () => void {
    this.reporters.set(topic, reporter);
    return () => {
      if (this.reporters.get(topic) === reporter) this.reporters.delete(topic);
    };
  }

  tell(topic: string, payload: unknown): void {
    this.send({ type: EXCHANGE.tell, topic, payload });
  }

  /** Runs the listener on each message the primary passes on under the topic. */
  hear(topic: string, hearer: Hearer): () => void {
    let listeners = this.hearers.get(topic);
    if (listeners === undefined) this.hearers.set(topic, (listeners = new Set()));
    listeners.add(hearer);
    return () => listeners.delete(hearer);
  }

  /** Resolves once every message sent so far has left (before the process exits), or after timeoutMs. */
  drained(timeoutMs = 1_000): Promise<void> {
    if (this.sending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainedListeners.push(resolve);
      setTimeout(resolve, timeoutMs).unref();
    });
  }

  receive(message: unknown): void {
    if (!isExchangeMessage(message)) return;
    if (message.type === EXCHANGE.gathered) {
      this.waiting.get(message.id ?? -1)?.(Array.isArray(message.answers) ? message.answers : []);
    } else if (message.type === EXCHANGE.report) {
      void this.answer(message.id ?? -1, message.topic ?? '', message.payload);
    } else if (message.type === EXCHANGE.told) {
      for (const hearer of this.hearers.get(message.topic ?? '') ?? []) hearer(message.payload);
    }
  }

  /** Always answers, undefined for a topic this worker does not report (yet, or any more): the primary waits for no one. */
  private async answer(id: number, topic: string, payload: unknown): Promise<void> {
    let answer: unknown;
    try {
      answer = await this.reporters.get(topic)?.(payload);
    } catch {
      answer = undefined;
    }
    this.send({ type: EXCHANGE.reported, id, payload: answer });
  }

  private send(message: ExchangeMessage): void {
    this.sending++;
    this.channel(message, () => {
      this.sending--;
      if (this.sending === 0) for (const listener of this.drainedListeners.splice(0)) listener();
    });
  }
}

let exchange: WorkerExchange | undefined;

/** This worker's exchange (made on first use); undefined in a process that is not a worker of `--workers`. */
export function workerExchange(): WorkerExchange | undefined {
  if (!cluster.isWorker) return undefined;
  if (exchange === undefined) {
    const made = new WorkerExchange((message, sent) => {
      // With a callback, a closed channel is an error passed to it, never thrown or emitted.
      if (process.send === undefined || !process.connected) sent();
      else process.send(message, () => sent());
    });
    process.on('message', (message: unknown) => made.receive(message));
    exchange = made;
  }
  return exchange;
}

/** The exchange if one was made: what to wait for before exiting. */
export function startedWorkerExchange(): WorkerExchange | undefined {
  return exchange;
}
