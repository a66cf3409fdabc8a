/**
 * `GET /metrics` (Prometheus), `GET /health/live` and `GET /health/ready`, and the count of
 * every request, told by the request records' close listener (usage/request-records.ts, whose
 * hook runs before any that refuses), so that requests refused by those hooks (401, 403, 429,
 * 503 while closing) are counted too. It reads the catalog, the open streams and the usage
 * events once the app is ready, when they all exist.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { requireScope } from '../auth/access-control.js';
import { metricsAcrossWorkers } from '../cluster/metrics-across-workers.js';
import { GatewayMetrics } from './metrics.js';
import { readinessReport } from './readiness.js';
import { circuitReadiness } from './circuit-readiness.js';

export interface ObservabilityOptions {
  /** `/metrics` without a key even when keys are configured (`--metrics-public`). */
  metricsPublic: boolean;
}

/** The route label of a request that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

async function observability(app: FastifyInstance, options: ObservabilityOptions): Promise<void> {
  const metrics = new GatewayMetrics({
    catalogName: (model) => app.catalog.find(model)?.name,
    catalogModels: () => app.catalog.backendStates(),
    activeStreams: () => app.activeStreams.count,
    circuits: () => app.upstreamTries.circuits.report(),
    usageRecordsDropped: () => app.usageLedger?.dropped,
    sharedStore: () => app.sharedStore?.metrics(),
  });

  // A worker of --workers answers a scrape for every worker (undefined otherwise).
  const acrossWorkers = metricsAcrossWorkers(metrics);

  app.onResponseClosed((request, status, route) => metrics.countRequest(route ?? UNMATCHED_ROUTE, status, requestedModel(request.body)));

  let unsubscribe: (() => void) | undefined;
  app.addHook('onReady', async () => {
    unsubscribe = app.usageEvents.subscribe((record) => metrics.recordUsage(record));
  });
  app.addHook('onClose', async () => {
    unsubscribe?.();
    await acrossWorkers?.close();
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/metrics',
    config: { unmetered: true },
    ...(options.metricsPublic ? {} : { onRequest: requireScope('admin', 'read the metrics') }),
    handler: async (_request, reply) => {
      const text = acrossWorkers === undefined ? await metrics.text() : await acrossWorkers.text();
      return noStore(reply).type(metrics.contentType).send(text);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/health/live',
    config: { unmetered: true },
    handler: async (_request, reply) => noStore(reply).send({ status: 'live' }),
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/health/ready',
    config: { unmetered: true },
    handler: async (_request, reply) => {
      const report = readinessReport(app.catalog.backendStates(), app.usageLedgerHealth, Date.now(), app.sharedStore?.readiness());
      report.circuits = circuitReadiness(app.upstreamTries.circuits.report());
      return noStore(reply).code(report.status === 'ready' ? 200 : 503).send(report);
    },
  });
}

function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store');
}

/** The model a request body names (every chat, generate, embeddings and show body has `model`). */
function requestedModel(body: FastifyRequest['body']): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const model = (body as { model?: unknown }).model;
  return typeof model === 'string' ? model : undefined;
}

export const observabilityPlugin = fastifyPlugin(observability, { name: 'ollama-bridge-observability', fastify: '5.x', dependencies: ['ollama-bridge-request-records'] });
