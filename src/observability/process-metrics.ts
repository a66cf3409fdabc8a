/**
 * The default process metrics (`process_*`, `nodejs_*`: CPU, memory, event loop lag, GC):
 * one set per process, however many apps it runs. Each collectDefaultMetrics call starts its
 * own event-loop monitor and GC observer that nothing stops, so they are made once, on the
 * first scrape, in a registry of their own (never prom-client's global one).
 */
import { Registry, collectDefaultMetrics } from 'prom-client';

let registry: Registry | undefined;

function processRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}

export function processMetricsText(): Promise<string> {
  return processRegistry().metrics();
}

/** The same as prom-client's JSON, for the sum over the workers of `--workers`. */
export function processMetricsJson(): ReturnType<Registry['getMetricsAsJSON']> {
  return processRegistry().getMetricsAsJSON();
}
