/**
 * The primary's side of the exchange between workers (exchange-worker.ts): it passes a
 * worker's gather on to every other worker that takes part, waits for their answers (or for
 * GATHER_TIMEOUT_MS, or for a worker's exit) and returns them, with its own last; it runs the
 * listeners of what workers tell it, and tells workers things. What each topic means is the
 * business of the modules that register it (retired-metrics.ts, live-relay.ts, kept-sign-outs.ts).
 */
import type { Worker } from 'node:cluster';
import { EXCHANGE, isExchangeMessage, type ExchangeMessage } from './messages.js';

/** A worker that does not answer in this time is left out of the gather. */
const GATHER_TIMEOUT_MS = 2_000;

export interface GatherTopic {
  /** false: only the primary answers (no worker is asked). */
  askWorkers: boolean;
  /** Runs when a worker gathers the topic, before any worker is asked. */
  heard?(payload: unknown, asker: Worker): void;
  /** false: the gather's payload is for the primary (heard) and is not passed on to the workers asked. */
  forwardPayload?: boolean;
  /** Runs with each worker's answer as it comes. */
  answered?(worker: Worker, answer: unknown): void;
  /** The primary's own answers, added after the workers' when the gather ends; `payload` is the gather's. */
  own?(payload: unknown): unknown[];
}

export type TellListener = (worker: Worker, payload: unknown) => void;

interface Gathering {
  asker: Worker;
  askerId: number;
  topic: string;
  payload: unknown;
  waitingFor: Set<Worker>;
  answers: Map<Worker, unknown>;
  timer: NodeJS.Timeout;
}

export class PrimaryExchange {
  /** The workers that take part (said hello), oldest first. */
  private readonly joined = new Set<Worker>();
  private readonly gatherings = new Map<number, Gathering>();
  private nextId = 1;
  private readonly topics = new Map<string, GatherTopic>();
  private readonly tellListeners = new Map<string, TellListener>();
  private readonly joinListeners: Array<(worker: Worker) => void> = [];
  private readonly leaveListeners: Array<(worker: Worker) => void> = [];

  /** Listens to a worker just forked. */
  attach(worker: Worker): void {
    worker.on('message', (message: unknown) => this.receive(worker, message));
    worker.once('exit', () => this.left(worker));
  }

  onGather(topic: string, handling: GatherTopic): void {
    this.topics.set(topic, handling);
  }

  onTell(topic: string, listener: TellListener): void {
    this.tellListeners.set(topic, listener);
  }

  onJoin(listener: (worker: Worker) => void): void {
    this.joinListeners.push(listener);
  }

  onLeave(listener: (worker: Worker) => void): void {
    this.leaveListeners.push(listener);
  }

  workers(): ReadonlySet<Worker> {
    return this.joined;
  }

  tell(worker: Worker, topic: string, payload: unknown): void {
    send(worker, { type: EXCHANGE.told, topic, payload });
  }

  /** Drops a worker's answers to the topic's open gathers (its figures are counted another way now). */
  forgetAnswers(worker: Worker, topic: string): void {
    for (const [id, gathering] of this.gatherings) {
      if (gathering.topic !== topic) continue;
      gathering.answers.delete(worker);
      gathering.waitingFor.delete(worker);
      if (gathering.waitingFor.size === 0) this.finish(id);
    }
  }

  private receive(worker: Worker, message: unknown): void {
    if (!isExchangeMessage(message)) return;
    switch (message.type) {
      case EXCHANGE.hello:
        this.joined.add(worker);
        for (const listener of this.joinListeners) listener(worker);
        break;
      case EXCHANGE.gather:
        this.gather(worker, message);
        break;
      case EXCHANGE.reported:
        this.reported(worker, message);
        break;
      case EXCHANGE.tell:
        this.tellListeners.get(message.topic ?? '')?.(worker, message.payload);
        break;
      default:
    }
  }

  private gather(asker: Worker, message: ExchangeMessage): void {
    const topic = message.topic ?? '';
    const handling = this.topics.get(topic);
    handling?.heard?.(message.payload, asker);
    const id = this.nextId++;
    const askWorkers = handling?.askWorkers ?? true;
    const waitingFor = new Set(askWorkers ? [...this.joined].filter((worker) => worker !== asker && worker.isConnected()) : []);
    const timer = setTimeout(() => this.finish(id), GATHER_TIMEOUT_MS);
    timer.unref();
    this.gatherings.set(id, { asker, askerId: message.id ?? -1, topic, payload: message.payload, waitingFor, answers: new Map(), timer });
    const payload = handling?.forwardPayload === false ? undefined : message.payload;
    for (const worker of waitingFor) send(worker, { type: EXCHANGE.report, id, topic, payload });
    if (waitingFor.size === 0) this.finish(id);
  }

  private reported(worker: Worker, message: ExchangeMessage): void {
    const id = message.id ?? -1;
    const gathering = this.gatherings.get(id);
    if (gathering === undefined || !gathering.waitingFor.delete(worker)) return;
    if (message.payload !== undefined) {
      gathering.answers.set(worker, message.payload);
      this.topics.get(gathering.topic)?.answered?.(worker, message.payload);
    }
    if (gathering.waitingFor.size === 0) this.finish(id);
  }

  private finish(id: number): void {
    const gathering = this.gatherings.get(id);
    if (gathering === undefined) return;
    this.gatherings.delete(id);
    clearTimeout(gathering.timer);
    const answers = [...gathering.answers.values(), ...(this.topics.get(gathering.topic)?.own?.(gathering.payload) ?? [])];
    send(gathering.asker, { type: EXCHANGE.gathered, id: gathering.askerId, answers });
  }

  private left(worker: Worker): void {
    if (!this.joined.delete(worker)) return;
    for (const [id, gathering] of this.gatherings) {
      if (gathering.asker === worker) {
        clearTimeout(gathering.timer);
        this.gatherings.delete(id);
      } else if (gathering.waitingFor.delete(worker) && gathering.waitingFor.size === 0) {
        this.finish(id);
      }
    }
    for (const listener of this.leaveListeners) listener(worker);
  }
}

/** A worker whose channel is closed (it is exiting) is skipped: the callback takes the error. */
function send(worker: Worker, message: ExchangeMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, () => undefined);
}
