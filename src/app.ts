/**
 * buildApp: the whole gateway as a Fastify instance that has not started listening.
 * Order: adapters → model catalog (+ models filter) → front ends → error and 404 handlers.
 */
import { OpenUpstreamCalls } from './streaming/client-abort.js';
import { directFramingWorks } from './streaming/chunk-framing-check.js';
import { ActiveStreams } from './streaming/active-streams.js';
import { observabilityPlugin } from './observability/plugin.js';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { accessControlPlugin } from './auth/access-control.js';
import { Budgets, defaultBudgetFrom } from './auth/budgets.js';
import type { KeyRing } from './auth/key-ring.js';
import { setUpKeys, type KeySetup } from './auth/key-setup.js';
import { isLoopbackAddress } from './auth/origins.js';
import type { Config } from '#schemas/config.js';
import { isOllamaAdapter, type BackendAdapter } from './core/backend-adapter.js';
import { createAdapters } from './adapters/configured-adapters.js';
import { ModelCatalog } from './core/model-catalog.js';
import { parseModelFilter } from './core/model-filter.js';
import { parseModelsConfig } from './core/models-config.js';
import { registerSecrets } from './core/secrets.js';
import { watchFileSetting, type FileWatcher } from './files/watched-file.js';
import { GatewayError } from './errors.js';
import { answerClientError } from './http/client-errors.js';
import { useJsonBodyParser } from './http/json-body-parser.js';
import { sendGatewayError, toGatewayError } from './http/request-errors.js';
import { MALFORMED_URL_MESSAGE, errorBodyForUrl, hasMalformedUrl, rewriteRequestUrl } from './http/request-url.js';
import { RouteMethods } from './http/route-methods.js';
import { ClosingState } from './http/closing-state.js';
import { requestIdSequence } from './http/request-ids.js';
import { serverTimeouts } from './http/server-timeouts.js';
import { lazyRequestLogger } from './http/lazy-request-logger.js';
import { ollamaFrontend } from './frontends/ollama/plugin.js';
import { openAiFrontend } from './frontends/openai/plugin.js';
import { anthropicFrontend } from './frontends/anthropic/plugin.js';
import { responsesFrontend } from './frontends/responses/plugin.js';
import { adminPlugin } from './admin/plugin.js';
import { KeyEditor } from './admin/key-editor.js';
import { triesPolicy } from './frontends/upstream-tries.js';
import { loggerOptions, type LogDestination } from './logger.js';
import { UsageEvents, type UsageLedgerHealth } from './usage/usage-record.js';
import { requestRecordsPlugin } from './usage/request-records.js';
import { startUsageLedger } from './usage/ledger/start-usage-ledger.js';
import { seedKeySpend } from './usage/ledger/seed-key-spend.js';
import { databaseUrlSecrets } from './usage/ledger/postgres-usage-store.js';
import type { UsageLedger } from './usage/ledger/usage-ledger.js';
import { KeySpend } from './usage/key-spend.js';
import { NO_SHARED_STORE, redisUrlSecrets, startSharedState } from './shared-state/shared-state.js';
import { workerCount } from './cluster/worker-count.js';
import { addWorkerHeader } from './cluster/worker-header.js';
import { limiterAcrossWorkers } from './cluster/limiter-across-workers.js';

declare module 'fastify' {
  interface FastifyInstance {
    catalog: ModelCatalog;
    keyRing: KeyRing;
    /** A key generated at start-up (`--generate-key` with no keys on a non-loopback bind), to print once. */
    generatedKey: string | undefined;
    /** Every answered request's record (usage-record.ts), for the ledger, budgets, metrics and log line. */
    usageEvents: UsageEvents;
    /** The ledger's health for readiness; undefined when usage is not recorded (`--no-usage`). */
    usageLedgerHealth: UsageLedgerHealth | undefined;
    /** The usage ledger (every record, written in batches; spend per key); undefined with `--no-usage`. */
    usageLedger: UsageLedger | undefined;
    /** Stops taking connections; requests that still arrive are answered, each closing its connection (closing-state.ts). */
    drain(): void;
    /** Open, draining or closing (http/closing-state.ts). */
    closingState: ClosingState;
    /** The request ids Fastify gives (http/request-ids.ts). */
    nextRequestId: () => string;
  }
}

export interface BuildAppOptions {
  config: Config;
  /** Replaces the backends built from config (tests). */
  adapters?: BackendAdapter[];
  /** false: no logging (tests). */
  logger?: boolean;
  /** Where log lines go (default stdout); tests capture them to check redaction. */
  logDestination?: LogDestination;
  /** The wall clock (Unix ms) of budget periods; tests move it past a period's end. */
  now?: () => number;
  /** The admin page's built files (default: dist/admin-page in the package); tests give a folder of their own. */
  adminPageDir?: string;
  /** Signs admin session cookies (default: random per process); the workers of one `--workers` gateway share one. */
  adminSessionSecret?: string;
  /** The key another worker generated at start-up (`--workers`): every worker serves the same one. */
  generatedKey?: string;
  /** /v1/messages: a `ping` after this many ms of upstream silence (default 10 s; tests shorten it). */
  anthropicPingIntervalMs?: number;
}

/** How often a worker re-reads every worker's spend from the ledger (`--workers` without Redis). */
const WORKER_SPEND_RESEED_MS = 1_000;

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const timeouts = serverTimeouts(config.REQUEST_RECEIVE_TIMEOUT_MS);
  // Errors outside the /v1 and /v1/messages plugins (which have their own handlers) in the dialect of the URL.
  const sendError = (error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply => sendGatewayError(error, request, reply, errorBodyForUrl(request.url));
  const nextRequestId = requestIdSequence();
  const app = Fastify({
    genReqId: nextRequestId,
    // Given to node:http's createServer (Fastify sets the other three itself).
    http: { headersTimeout: timeouts.headersTimeout, connectionsCheckingInterval: timeouts.connectionsCheckingInterval, requestTimeout: timeouts.requestTimeout },
    logger: options.logger === false ? false : loggerOptions(config.LOG_LEVEL, options.logDestination),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: timeouts.requestTimeout,
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    forceCloseConnections: 'idle',
    // Behind a reverse proxy: request.ip, .protocol and .host follow X-Forwarded-* from these peers only (off by default).
    trustProxy: config.TRUST_PROXY,
    // One line per answered request instead, with what it spent (usage/request-records.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's child logger is made only when the request writes a line (lazy-request-logger.ts).
    childLoggerFactory: lazyRequestLogger,
    // While closing, new requests get 503 from the first hook below, in the route's dialect.
    return503OnClosing: false,
    // Clients that take only a URL put their key in a `/key/<KEY>` path prefix: strip it
    // before routing (and before anything logs the URL). A malformed URL is only marked here.
    rewriteUrl: (request) => rewriteRequestUrl(request),
    // Errors raised before routing (a path that does not decode), in the URL's dialect.
    frameworkErrors: (error, request, reply) => {
      void sendError(toGatewayError(error, request), request, reply);
    },
    // Errors of Node's HTTP parser (408, 431, 400), in the URL's dialect when it is known.
    clientErrorHandler(this: FastifyInstance, error, socket) {
      answerClientError(error, socket, this.log);
    },
  });
  // Set before any plugin adds a route at the root (CORS answers OPTIONS on every path, /v1
  // ones included), so every root route answers errors in the dialect of its URL.
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => sendError(toGatewayError(error, request), request, reply));
  // Every route, for telling 405 from 404 (route-methods.ts).
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.method, route.url));
  // Every request's log line, and the usage record of those that can spend: before the hooks that refuse some.
  await app.register(requestRecordsPlugin);
  // /metrics, /health/*, and the hook that counts every request: before the hooks that refuse some.
  await app.register(observabilityPlugin, { metricsPublic: config.METRICS_PUBLIC });
  // First of the hooks that refuse: a URL that does not decode is refused before any key is checked.
  const closing = new ClosingState();
  app.decorate('closingState', closing);
  app.decorate('nextRequestId', nextRequestId);
  app.decorate('drain', () => closing.drain(app.server));
  // Named: GET /api/tags, answered in front of Fastify (frontends/ollama/fast-tags.ts), makes these hooks' decisions
  // itself and checks their names at start-up. A change in what one decides is a change there too.
  app.addHook('onRequest', function refuseWhileClosing(request, reply, done) {
    if (closing.step !== 'open') {
      reply.header('connection', 'close');
      if (closing.step === 'closing') return done(new GatewayError('SHUTTING_DOWN', 'ollama-bridge is shutting down; retry in a moment', { retryAfter: '5' }));
    }
    done(hasMalformedUrl(request.raw) ? new GatewayError('BAD_REQUEST', MALFORMED_URL_MESSAGE) : undefined);
  });

  // Whether streamed answers may frame chunks behind ServerResponse on this Node (chunk-writer.ts).
  const framing = await directFramingWorks();
  if (!framing.direct) app.log.warn(`streamed answers go through response.write: writing chunks straight to the socket failed its check on Node ${process.version} (${framing.reason})`);

  const adapters = options.adapters ?? createAdapters(config);
  const catalog = new ModelCatalog({ adapters, ttlSeconds: config.CATALOG_TTL_SECONDS, log: app.log });
  app.decorate('catalog', catalog);
  app.decorate('upstreamTries', triesPolicy(config));
  app.decorate('openUpstreamCalls', new OpenUpstreamCalls());
  app.decorate('activeStreams', new ActiveStreams());
  app.decorate('usageEvents', new UsageEvents((error) => app.log.error({ err: error }, 'a usage subscriber failed')));
  // The database URL's password is redacted from every log line from here on.
  const databaseSecrets = registerSecrets(databaseUrlSecrets(config.DATABASE_URL));
  app.addHook('onClose', async () => databaseSecrets.release());
  const usageLedger = await startUsageLedger(config, app.usageEvents, app.log);
  app.decorate('usageLedger', usageLedger);
  app.decorate('usageLedgerHealth', usageLedger);
  // Runs after the server has closed, so the answers that were open have given their records.
  app.addHook('onClose', async () => usageLedger?.close());
  // Each key's spend in its budget period: what the ledger holds, then every answered request's cost.
  const keySpend = new KeySpend(options.now);
  if (usageLedger !== undefined) await seedKeySpend(keySpend, usageLedger, app.log);
  // With Redis, the shared spend records it (shared-state/redis-spend.ts, below).
  if (config.REDIS_URL === undefined) app.usageEvents.subscribe((record) => keySpend.record(record));
  // Workers of one machine without Redis share spend through the ledger: each re-reads it every second.
  if (workerCount(config.WORKERS) > 1 && config.REDIS_URL === undefined && usageLedger !== undefined) {
    const reseed = setInterval(() => void keySpend.seed((sinceTimes) => usageLedger.spendByKeySince(sinceTimes)).catch(() => undefined), WORKER_SPEND_RESEED_MS);
    reseed.unref();
    app.addHook('onClose', async () => clearInterval(reseed));
  }

  const watchers: FileWatcher[] = [];
  // Redacted from upstream text and logs while this app runs (see core/secrets.ts).
  const secrets = registerSecrets([config.OPENROUTER_API_KEY, config.ADMIN_SESSION_SECRET, ...redisUrlSecrets(config.REDIS_URL)]);
  app.addHook('onClose', async () => secrets.release());
  let keys: KeySetup;
  try {
    keys = setUpKeys(config, watchers, app.log, secrets, options.generatedKey);
  } catch (error) {
    secrets.release();
    await usageLedger?.close();
    throw error;
  }
  const { keyRing, generatedKey } = keys;
  app.decorate('keyRing', keyRing);
  app.decorate('generatedKey', generatedKey);
  // Rate limits, budget spend, key changes and /api/ps shared with every gateway on one Redis.
  const shared = config.REDIS_URL === undefined
    ? undefined
    : startSharedState({ url: config.REDIS_URL, keyRing, keysFile: config.BRIDGE_KEYS_FILE, catalog, keySpend, log: app.log, ...(options.now === undefined ? {} : { now: options.now }) });
  app.decorate('sharedStore', shared ?? NO_SHARED_STORE);
  if (shared !== undefined) {
    app.usageEvents.subscribe((record) => shared.spend.record(record));
    app.addHook('onClose', async () => shared.close());
    // Every gateway's recent uses, read before /api/ps answers.
    app.addHook('onRoute', (route) => {
      if (route.url !== '/api/ps') return;
      const loadRecentUse = async (): Promise<void> => shared.recentUse.load();
      route.preHandler = [...[route.preHandler ?? []].flat(), loadRecentUse];
    });
  }
  if (workerCount(config.WORKERS) > 1) addWorkerHeader(app);
  const checkHostHeader = isLoopbackAddress(config.HOST);
  app.addHook('preClose', async () => closing.close());
  await app.register(accessControlPlugin, {
    keyRing,
    checkHostHeader,
    origins: config.OLLAMA_ORIGINS?.split(',') ?? [],
    publicRoutes: config.METRICS_PUBLIC ? ['/metrics'] : [],
    defaultLimits: {
      ...(config.RATE_LIMIT_RPM > 0 ? { requestsPerMinute: config.RATE_LIMIT_RPM } : {}),
      ...(config.RATE_LIMIT_TPM > 0 ? { tokensPerMinute: config.RATE_LIMIT_TPM } : {}),
    },
    budgets: new Budgets(shared?.spend ?? keySpend, defaultBudgetFrom(config)),
    ...(shared === undefined ? {} : { limiter: shared.limiter }),
  });

  if (config.MODELS_FILTER !== undefined) {
    watchers.push(watchFileSetting({
      path: config.MODELS_FILTER,
      label: 'models filter',
      emptyMeaning: 'every model is served',
      parse: parseModelFilter,
      apply: (filter) => {
        for (const problem of filter.problems) app.log.warn({ path: config.MODELS_FILTER }, `models filter ${config.MODELS_FILTER} ${problem}; skipped`);
        catalog.setFilter(filter, config.MODELS_FILTER);
      },
      log: app.log,
    }));
  }
  if (config.MODELS_CONFIG !== undefined) {
    const path = config.MODELS_CONFIG;
    watchers.push(watchFileSetting({
      path,
      label: 'models config',
      emptyMeaning: 'no aliases or per-model overrides',
      parse: parseModelsConfig,
      apply: (models) => {
        for (const problem of models.problems) app.log.warn({ path }, `models config ${path} ${problem}`);
        catalog.setModelsConfig(models, path);
      },
      log: app.log,
    }));
  }

  // Every body read as JSON whatever its Content-Type, bounded once for every route.
  useJsonBodyParser(app);

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const error = routeMethods.otherMethodServes(path, request.method)
      ? new GatewayError('METHOD_NOT_ALLOWED', '405 method not allowed')
      : new GatewayError('ROUTE_NOT_FOUND', '404 page not found');
    return sendError(error, request, reply);
  });

  const upstreamOllama = adapters.find(isOllamaAdapter);
  await app.register(ollamaFrontend, { catalog, config, ...(upstreamOllama === undefined ? {} : { upstreamOllama }) });
  await app.register(openAiFrontend, { prefix: '/v1', catalog, config });
  await app.register(anthropicFrontend, { prefix: '/v1/messages', catalog, pingIntervalMs: options.anthropicPingIntervalMs });
  await app.register(responsesFrontend, { prefix: '/v1/responses', catalog });
  // The admin page and its API (/admin, /admin/api/*); its writes of the keys file go through app.adminKeyEditor.
  app.decorate('adminKeyEditor', new KeyEditor(config.BRIDGE_KEYS_FILE, keyRing, options.now));
  // Failed sign-ins counted for the whole gateway: on Redis across instances, else through the primary across workers.
  const signInFailures = shared?.limiter ?? limiterAcrossWorkers();
  await app.register(adminPlugin, {
    config,
    keySpend: shared?.spend ?? keySpend,
    keyEditor: app.adminKeyEditor,
    ...(shared === undefined ? {} : { signOuts: shared.signOuts }),
    ...(signInFailures === undefined ? {} : { signInFailures }),
    ...(options.adminPageDir === undefined ? {} : { pageDir: options.adminPageDir }),
    // The configured secret (instances behind one load balancer), else the primary's (workers), else random.
    ...((config.ADMIN_SESSION_SECRET ?? options.adminSessionSecret) === undefined ? {} : { sessionSecret: config.ADMIN_SESSION_SECRET ?? options.adminSessionSecret }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });

  app.addHook('onClose', async () => {
    for (const watcher of watchers) watcher.close();
    catalog.stop();
    await Promise.all(adapters.map((adapter) => adapter.close()));
  });

  return app;
}
