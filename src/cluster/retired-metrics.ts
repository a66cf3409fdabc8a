/**
 * In the primary: the counters and histograms of workers that closed (a rolling restart, a
 * stop), told by each as it closes and summed here, so that `/metrics` keeps counting them:
 * a sum over workers that dropped whenever one was replaced would look to Prometheus like a
 * counter reset. A worker that dies without closing leaves the counts it had at the last
 * scrape (each scrape passes every worker's counts through here): the sum never drops below
 * what a scrape has shown; only what the dead worker counted since is lost.
 */
import type { Worker } from 'node:cluster';
import type { PrimaryExchange } from './exchange-primary.js';
import { TOPIC } from './messages.js';

/** One metric as prom-client's `getMetricsAsJSON` gives it (and its `AggregatorRegistry.aggregate` takes). */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** What a worker answers to a metrics gather; `retired`: the primary's sum of the workers gone. */
export interface MetricsReport {
  worker: string;
  process: MetricJson[];
  gateway: MetricJson[];
  retired?: true;
}

export function keepRetiredMetrics(exchange: PrimaryExchange): void {
  let retired: MetricJson[] = [];
  // Each live worker's counters and histograms as the last scrape saw them.
  const lastSeen = new Map<Worker, MetricJson[]>();
  const see = (worker: Worker, metrics: unknown): void => {
    if (Array.isArray(metrics)) lastSeen.set(worker, countersOf(metrics as MetricJson[]));
  };
  exchange.onTell(TOPIC.metricsFinal, (worker, payload) => {
    if (!Array.isArray(payload)) return;
    // Counted here from now on: an open gather that has its answer drops it.
    exchange.forgetAnswers(worker, TOPIC.metrics);
    lastSeen.delete(worker);
    retired = sumMetrics([retired, payload as MetricJson[]]);
  });
  exchange.onLeave((worker) => {
    // Gone without closing (killed, crashed): what the last scrape saw of it stays counted. Once
    // its channel is closed, which is after its last message (the final counts of a worker that
    // closed) has been read.
    const settle = (): void => {
      const seen = lastSeen.get(worker);
      lastSeen.delete(worker);
      if (seen === undefined) return;
      // Counted here from now on: an open gather that has its answer drops it.
      exchange.forgetAnswers(worker, TOPIC.metrics);
      retired = sumMetrics([retired, seen]);
    };
    if (worker.isConnected()) worker.once('disconnect', settle);
    else settle();
  });
  exchange.onGather(TOPIC.metrics, {
    askWorkers: true,
    // The asking worker's own counts come with its gather, for the primary only.
    heard: (payload, asker) => see(asker, payload),
    forwardPayload: false,
    answered: (worker, answer) => see(worker, (answer as Partial<MetricsReport> | null)?.gateway),
    own: () => (retired.length === 0 ? [] : [{ worker: 'retired', process: [], gateway: retired, retired: true } satisfies MetricsReport]),
  });
}

/** The metrics that are summed across workers: counters and histograms. */
export function countersOf(metrics: readonly MetricJson[]): MetricJson[] {
  return metrics.filter((metric) => metric.type === 'counter' || metric.type === 'histogram');
}

/** Counters and histograms summed series by series (the same metric name and labels). */
export function sumMetrics(sets: ReadonlyArray<readonly MetricJson[]>): MetricJson[] {
  const byName = new Map<string, { metric: MetricJson; bySeries: Map<string, MetricJson['values'][number]> }>();
  for (const set of sets) {
    for (const metric of set) {
      if (metric.type !== 'counter' && metric.type !== 'histogram') continue;
      let summed = byName.get(metric.name);
      if (summed === undefined) byName.set(metric.name, (summed = { metric: { ...metric, values: [] }, bySeries: new Map() }));
      for (const value of metric.values) {
        const series = `${value.metricName ?? ''}\n${seriesKey(value.labels)}`;
        const known = summed.bySeries.get(series);
        if (known === undefined) summed.bySeries.set(series, { ...value, labels: { ...value.labels } });
        else known.value += value.value;
      }
    }
  }
  return [...byName.values()].map(({ metric, bySeries }) => ({ ...metric, values: [...bySeries.values()] }));
}

function seriesKey(labels: Record<string, string | number>): string {
  return Object.keys(labels).sort().map((name) => `${name}=${labels[name]}`).join('\n');
}
