/**
 * In the primary: the counters and histograms of workers that closed (a rolling restart, a
 * stop), told by each as it closes and summed here, so that `/metrics` keeps counting them:
 * a sum over workers that dropped whenever one was replaced would look to Prometheus like a
 * counter reset. A worker that dies without closing takes its counts with it.
 */
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
  exchange.onTell(TOPIC.metricsFinal, (worker, payload) => {
    if (!Array.isArray(payload)) return;
    // Counted here from now on: an open gather that has its answer drops it.
    exchange.forgetAnswers(worker, TOPIC.metrics);
    retired = sumMetrics([retired, payload as MetricJson[]]);
  });
  exchange.onGather(TOPIC.metrics, {
    askWorkers: true,
    own: () => (retired.length === 0 ? [] : [{ worker: 'retired', process: [], gateway: retired, retired: true } satisfies MetricsReport]),
  });
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
