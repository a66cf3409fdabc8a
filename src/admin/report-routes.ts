/**
 * The admin API's views: overview, models and the models filter, usage (JSON and CSV), and
 * live traffic (server-sent events, and the same recent requests as JSON).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import { parseBody } from '../http/request-errors.js';
import { readinessReport } from '../observability/readiness.js';
import { PACKAGE_VERSION } from '../startup/package-version.js';
import { dayOf } from '../usage/ledger/usage-days.js';
import type { FilterPreview, ModelList, Overview } from './api-types.js';
import type { FilterEditor } from './filter-editor.js';
import type { LiveRequests } from './live-requests.js';
import { adminModels } from './models-view.js';
import { SECURITY_HEADERS } from './page.js';
import { USAGE_OFF_MESSAGE, totals, usageCsv, usageQuery, usageReport, type UsageQueryText } from './usage-view.js';

const FilterTextSchema = z.strictObject({ text: z.string() });
const KEEP_ALIVE_MS = 15_000;

export interface ReportRoutesOptions {
  filterEditor: FilterEditor;
  live: LiveRequests;
  startedAt: number;
  now: () => number;
}

export function registerReportRoutes(app: FastifyInstance, options: ReportRoutesOptions): void {
  const { filterEditor, live, now } = options;

  app.get('/admin/api/overview', async (): Promise<Overview> => {
    const time = now();
    const report = readinessReport(app.catalog.backendStates(), app.usageLedgerHealth, time);
    const today = dayOf(time);
    let modelsServed = 0;
    try {
      modelsServed = (await app.catalog.snapshot()).entries.length;
    } catch {
      // No backend has answered yet: none served (the backends say why).
    }
    return {
      version: PACKAGE_VERSION,
      status: report.status,
      ...(report.reason === undefined ? {} : { reason: report.reason }),
      backends: Object.entries(report.backends).map(([name, backend]) => ({
        name, state: backend.state, models: backend.models, catalogAgeSeconds: backend.catalog_age_seconds, lastError: backend.last_error,
      })),
      usageLedger: report.usage_ledger,
      modelsServed,
      today: await totals(app.usageLedger, today, today),
      thisMonth: await totals(app.usageLedger, `${today.slice(0, 8)}01`, today),
      activeStreams: app.activeStreams.count,
      uptimeSeconds: Math.max(0, Math.round((time - options.startedAt) / 1000)),
    };
  });

  app.get('/admin/api/models', async (): Promise<ModelList> => ({
    models: await adminModels(app.catalog, app.keyRing.keys),
    filter: { path: filterEditor.path ?? null, text: filterEditor.text(), editable: filterEditor.editable },
  }));

  app.post('/admin/api/models-filter/preview', async (request): Promise<FilterPreview> => filterEditor.preview(parseBody(FilterTextSchema, request.body).text));

  app.put('/admin/api/models-filter', async (request): Promise<FilterPreview> => {
    const preview = filterEditor.save(parseBody(FilterTextSchema, request.body).text);
    request.log.info({ path: filterEditor.path, served: preview.served }, 'admin: models filter saved');
    return preview;
  });

  app.get<{ Querystring: UsageQueryText }>('/admin/api/usage', async (request) => {
    const ledger = app.usageLedger;
    if (ledger === undefined) throw new GatewayError('BAD_REQUEST', USAGE_OFF_MESSAGE, { statusCode: 409 });
    return usageReport(ledger, usageQuery(request.query, now()));
  });

  app.get<{ Querystring: UsageQueryText }>('/admin/api/usage.csv', async (request, reply) => {
    const ledger = app.usageLedger;
    if (ledger === undefined) throw new GatewayError('BAD_REQUEST', USAGE_OFF_MESSAGE, { statusCode: 409 });
    const query = usageQuery(request.query, now());
    const body = await usageCsv(ledger, query);
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="usage-${query.since}-${query.until}.csv"`).send(body);
  });

  app.get('/admin/api/recent', async () => ({ requests: [...(await live.recent())].reverse() }));

  const streams = new Set<ServerResponse>();
  app.get('/admin/api/live', (request, reply) => {
    void reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      // nginx and other proxies: pass each event on as it comes.
      'x-accel-buffering': 'no',
    });
    const send = (data: unknown): void => {
      response.write(`event: request\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // A first line at once: the client knows the feed is open even before any request comes.
    response.write(': live requests\n\n');
    // The recent requests first, then each new one.
    const unsubscribe = live.follow(send);
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    keepAlive.unref();
    streams.add(response);
    response.once('close', () => {
      unsubscribe();
      clearInterval(keepAlive);
      streams.delete(response);
    });
    request.log.debug('admin: live feed opened');
  });
  // A feed never ends by itself: closing the gateway ends them.
  app.addHook('preClose', async () => {
    for (const response of streams) response.end();
  });
}
