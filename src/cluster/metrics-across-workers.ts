/**
 * `/metrics` under `--workers`: the worker that takes the scrape gathers every other worker's
 * metrics through the primary and answers for the whole gateway (prom-client's
 * `AggregatorRegistry.aggregate`, each metric by its aggregator: counters and histograms
 * summed). Process metrics (`process_*`, `nodejs_*`) are per process: each keeps a `worker`
 * label. The primary adds the counts of the workers that closed (retired-metrics.ts), and
 * `ollama_bridge_workers_reporting` says how many workers' figures the scrape holds (one that
 * does not answer within 2 s is left out). Outside a worker nothing of this runs.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { GatewayMetrics } from '../observability/metrics.js';
import { processMetricsJson } from '../observability/process-metrics.js';
import { workerExchange } from './exchange-worker.js';
import { TOPIC } from './messages.js';
import { countersOf, type MetricJson, type MetricsReport } from './retired-metrics.js';

export interface MetricsAcrossWorkers {
  /** The exposition of the whole gateway. */
  text(): Promise<string>;
  /** Stops answering gathers and hands this worker's counts to the primary (the app closes). */
  close(): Promise<void>;
}

/** Undefined outside a worker of `--workers`. */
export function metricsAcrossWorkers(metrics: GatewayMetrics): MetricsAcrossWorkers | undefined {
  const exchange = workerExchange();
  const worker = cluster.worker;
  if (exchange === undefined || worker === undefined) return undefined;
  const id = String(worker.id);
  const report = async (): Promise<MetricsReport> => ({
    worker: id,
    process: withWorkerLabel((await processMetricsJson()) as unknown as MetricJson[], id),
    gateway: (await metrics.registry.getMetricsAsJSON()) as unknown as MetricJson[],
  });
  const stopReporting = exchange.report(TOPIC.metrics, report);
  return {
    async text() {
      const own = await report();
      // The primary keeps the counts it is given, to go on counting them if this worker dies.
      const answers = await exchange.gather(TOPIC.metrics, countersOf(own.gateway));
      const reports = [own, ...answers.filter(isMetricsReport)];
      const workers = reports.filter((answer) => answer.retired !== true).length;
      const processMetrics = AggregatorRegistry.aggregate(reports.map((answer) => answer.process));
      const gatewayMetrics = AggregatorRegistry.aggregate([...reports.map((answer) => answer.gateway), [workersReporting(workers)]]);
      return (await processMetrics.metrics()) + (await gatewayMetrics.metrics());
    },
    async close() {
      stopReporting();
      const gateway = (await metrics.registry.getMetricsAsJSON()) as unknown as MetricJson[];
      exchange.tell(TOPIC.metricsFinal, countersOf(gateway));
    },
  };
}

/** Each series labelled with its worker, kept apart whatever the metric's aggregator. */
function withWorkerLabel(metrics: MetricJson[], worker: string): MetricJson[] {
  return metrics.map((metric) => ({
    ...metric,
    aggregator: 'first',
    values: metric.values.map((value) => ({ ...value, labels: { ...value.labels, worker } })),
  }));
}

function workersReporting(count: number): MetricJson {
  return {
    name: 'ollama_bridge_workers_reporting',
    help: 'Workers (--workers) whose figures this scrape sums; fewer than are serving when one did not answer in time',
    type: 'gauge',
    aggregator: 'first',
    values: [{ value: count, labels: {} }],
  };
}

function isMetricsReport(answer: unknown): answer is MetricsReport {
  if (typeof answer !== 'object' || answer === null) return false;
  const report = answer as Partial<MetricsReport>;
  return Array.isArray(report.process) && Array.isArray(report.gateway);
}
