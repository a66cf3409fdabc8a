/**
 * The gateway's Prometheus metrics: one Registry per app (tests run many apps in one process),
 * fed by the request counter hook and by the usage records, plus gauges read on each scrape.
 * Every label set is bounded: routes are route patterns, a model the catalog does not list is
 * `other`, a key is its name (the configured keys). Under `--workers` a scrape sums every
 * worker's (cluster/metrics-across-workers.ts): each metric's `aggregator` says how (counters,
 * histograms and open streams add up; the gauges of each worker's own view, below, do not).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitReport } from '../core/circuit-breakers.js';
import { errorCodes } from '../errors.js';
import type { UsageRecord } from '../usage/usage-record.js';
import { processMetricsText } from './process-metrics.js';
import { RequestCounts } from './request-counts.js';
import { UsageSums } from './usage-sums.js';

export interface MetricsSources {
  /** The catalog's listed name for a model name a client sent; undefined when it lists none. */
  catalogName(model: string): string | undefined;
  /** How many models each backend's last good list holds. */
  catalogModels(): ReadonlyArray<{ name: string; models: number }>;
  /** Answers streaming now. */
  activeStreams(): number;
  /** The circuit breakers that have failed since they last succeeded. */
  circuits?(): readonly CircuitReport[];
  /** The shared store (Redis) in use: whether it answers, and how often local state stood in for it, by what for. */
  sharedStore?(): { up: boolean; fallbacks: ReadonlyMap<string, number> } | undefined;
  /** Usage records the ledger dropped since start (undefined: no ledger). */
  usageRecordsDropped?(): number | undefined;
}

const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;

/** The model label of every model the catalog does not list. */
export const OTHER_MODEL = 'other';

/** Seconds: a cached answer's first token is well under a second; a large model's cold start, tens. */
const TIME_TO_FIRST_TOKEN_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60];
/** Seconds: from an embedding's tens of milliseconds to a long reasoning answer's minutes. */
const REQUEST_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requestCounts = new RequestCounts();
  private readonly usageSums = new UsageSums();
  private readonly timeToFirstToken: Histogram;
  private readonly duration: Histogram;
  private readonly upstreamErrors: Counter<'backend' | 'status'>;

  constructor(private readonly sources: MetricsSources) {
    const registers = [this.registry];
    const requestCounts = this.requestCounts;
    const usageSums = this.usageSums;
    new Counter({
      name: 'ollama_bridge_requests_total',
      help: 'Requests answered, by route pattern, status and model (empty when the request names none)',
      labelNames: ['route', 'status', 'model'],
      registers,
      collect(this: Counter<'route' | 'status' | 'model'>) {
        // Counted per request in requestCounts (cheaper than a labelled inc); the counter shows them.
        this.reset();
        for (const { route, status, model, count } of requestCounts.all()) this.inc({ route, status: String(status), model }, count);
      },
    });
    new Counter({
      name: 'ollama_bridge_tokens_total',
      help: 'Tokens spent upstream (as reported, else estimated), by model, client key name and type (prompt or completion)',
      labelNames: ['model', 'key', 'type'],
      registers,
      collect(this: Counter<'model' | 'key' | 'type'>) {
        // Summed per answer in usageSums (cheaper than labelled incs); the counter shows them.
        this.reset();
        for (const { model, key, promptTokens, completionTokens } of usageSums.all()) {
          if (promptTokens > 0) this.inc({ model, key, type: 'prompt' }, promptTokens);
          if (completionTokens > 0) this.inc({ model, key, type: 'completion' }, completionTokens);
        }
      },
    });
    new Counter({
      name: 'ollama_bridge_cost_usd_total',
      help: 'Cost in USD as the upstream reports it (or from the models config price), by model and client key name',
      labelNames: ['model', 'key'],
      registers,
      collect(this: Counter<'model' | 'key'>) {
        this.reset();
        for (const { model, key, costUsd } of usageSums.all()) if (costUsd > 0) this.inc({ model, key }, costUsd);
      },
    });
    this.timeToFirstToken = new Histogram({
      name: 'ollama_bridge_time_to_first_token_seconds',
      help: 'From the request to the first answer token relayed, for answers that had one',
      buckets: TIME_TO_FIRST_TOKEN_BUCKETS,
      registers,
    });
    this.duration = new Histogram({
      name: 'ollama_bridge_request_duration_seconds',
      help: 'From the request to the end of its answer, for requests on routes that spend upstream (chat, generate, embeddings, passthrough), refused ones included',
      buckets: REQUEST_DURATION_BUCKETS,
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'ollama_bridge_upstream_errors_total',
      help: 'Answers that failed upstream (error status, in-band error, timeout, unreachable), by backend and the status it stands for',
      labelNames: ['backend', 'status'],
      registers,
    });
    new Gauge({
      name: 'ollama_bridge_active_streams',
      help: 'Streamed answers open now',
      registers,
      collect(this: Gauge) {
        this.set(sources.activeStreams());
      },
    });
    new Counter({
      name: 'ollama_bridge_usage_records_dropped_total',
      help: 'Request records the usage ledger could not keep: more held than its bound while the store took no writes, a record that could not be stored, or left at close',
      registers,
      collect(this: Counter) {
        const dropped = sources.usageRecordsDropped?.();
        if (dropped === undefined) return;
        // The ledger keeps the count (it only grows): the counter shows it.
        this.reset();
        this.inc(dropped);
      },
    });
    new Gauge({
      name: 'ollama_bridge_circuit_state',
      help: 'Circuit breakers that have failed since they last answered: 1 for the state each is in (closed: failing, not skipped yet; open: skipped; half_open: one try may go), by backend and model (empty for the whole backend)',
      labelNames: ['backend', 'model', 'state'],
      registers,
      // Each worker has its own breakers: 1 when any worker's is in that state.
      aggregator: 'max',
      collect(this: Gauge<'backend' | 'model' | 'state'>) {
        // A circuit that answered again is gone from the report: its series go too.
        this.reset();
        for (const circuit of sources.circuits?.() ?? []) {
          for (const state of CIRCUIT_STATES) this.set({ backend: circuit.backend, model: circuit.model ?? '', state }, state === circuit.state ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'ollama_bridge_catalog_models',
      help: "Models in each backend's last good model list (before the models filter)",
      labelNames: ['backend'],
      registers,
      // Each worker fetches the same lists.
      aggregator: 'max',
      collect(this: Gauge<'backend'>) {
        for (const backend of sources.catalogModels()) this.set({ backend: backend.name }, backend.models);
      },
    });
    this.sharedStoreMetrics(registers);
  }

  private sharedStoreMetrics(registers: Registry[]): void {
    const sources = this.sources;
    new Gauge({
      name: 'ollama_bridge_shared_store_up',
      help: 'Whether the shared store (Redis, --redis-url) answers: 1 or 0; absent without one',
      labelNames: ['store'],
      registers,
      // Up only when every worker reaches it.
      aggregator: 'min',
      collect(this: Gauge<'store'>) {
        const store = sources.sharedStore?.();
        if (store !== undefined) this.set({ store: 'redis' }, store.up ? 1 : 0);
      },
    });
    new Counter({
      name: 'ollama_bridge_shared_store_fallbacks_total',
      help: "Times this process's own state stood in for the shared store (Redis) it could not reach, by what for: rate_limit, budget, keys, recent_use",
      labelNames: ['store', 'kind'],
      registers,
      collect(this: Counter<'store' | 'kind'>) {
        const store = sources.sharedStore?.();
        if (store === undefined) return;
        this.reset();
        for (const [kind, count] of store.fallbacks) this.inc({ store: 'redis', kind }, count);
      },
    });
  }

  /** The model label: the catalog's name for it, `other` when it lists none, empty for no model. */
  modelLabel(model: string | undefined): string {
    if (model === undefined || model === '') return '';
    return this.sources.catalogName(model) ?? OTHER_MODEL;
  }

  /** One answered request (every request, recorded or not). */
  countRequest(route: string, status: number, model: string | undefined): void {
    this.requestCounts.add(route, status, this.modelLabel(model));
  }

  /** What one request spent and how long it took (a usage record). */
  recordUsage(record: UsageRecord): void {
    const model = this.modelLabel(record.modelRequested);
    const key = record.keyName ?? '';
    if (record.promptTokens > 0 || record.completionTokens > 0 || record.costUsd > 0) {
      this.usageSums.add(model, key, record.promptTokens, record.completionTokens, record.costUsd);
    }
    if (record.timeToFirstTokenMs !== undefined) this.timeToFirstToken.observe(record.timeToFirstTokenMs / 1000);
    this.duration.observe(record.durationMs / 1000);
    const errorStatus = upstreamErrorStatus(record);
    if (errorStatus !== undefined) this.upstreamErrors.inc({ backend: record.backend ?? '', status: String(errorStatus) });
  }

  readonly contentType = this.registry.contentType;

  /** The exposition: the process's metrics, then the gateway's. */
  async text(): Promise<string> {
    return (await processMetricsText()) + (await this.registry.metrics());
  }
}

/**
 * The status an upstream failure stands for, or undefined when the record is not one: a
 * gateway error of an `UPSTREAM_…` code (in-band ones too: the status their code maps to), or
 * an error status relayed from a backend as it was (the passthrough, which sets no code).
 */
function upstreamErrorStatus(record: UsageRecord): number | undefined {
  const code = record.errorCode;
  if (code === undefined) return record.backend !== undefined && record.status >= 400 ? record.status : undefined;
  if (!code.startsWith('UPSTREAM_')) return undefined;
  return record.status >= 400 ? record.status : ((errorCodes as Record<string, number>)[code] ?? 502);
}
