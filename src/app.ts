/**
 * buildApp: the whole gateway as a Fastify instance that has not started listening.
 * Order: adapters → model catalog (+ models filter) → front ends → error and 404 handlers.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '#schemas/config.js';
import type { BackendAdapter } from './adapters/adapter.js';
import { createOpenRouterAdapter } from './adapters/openrouter/index.js';
import { ModelCatalog } from './core/model-catalog.js';
import { parseModelFilter } from './core/model-filter.js';
import { parseModelsConfig } from './core/models-config.js';
import { watchFileSetting, type FileWatcher } from './core/watched-file.js';
import { GatewayError, isGatewayError, toOllamaErrorBody } from './errors.js';
import { ollamaFrontend } from './frontends/ollama/plugin.js';
import { loggerOptions } from './logger.js';

declare module 'fastify' {
  interface FastifyInstance {
    catalog: ModelCatalog;
  }
}

export interface BuildAppOptions {
  config: Config;
  /** Replaces the backends built from config (tests). */
  adapters?: BackendAdapter[];
  /** false: no logging (tests). */
  logger?: boolean;
  /** Where log lines go (default stdout); tests capture them to check redaction. */
  logDestination?: NodeJS.WritableStream;
}

const APP_URL = 'https://github.com/ollama-bridge/ollama-bridge';
const APP_TITLE = 'ollama-bridge';

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger === false ? false : loggerOptions(config.LOG_LEVEL, options.logDestination),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Streams of long reasoning answers must never be cut by a server timeout.
    requestTimeout: 0,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });

  const adapters = options.adapters ?? createAdapters(config);
  const catalog = new ModelCatalog({ adapters, ttlSeconds: config.CATALOG_TTL_SECONDS, log: app.log });
  app.decorate('catalog', catalog);

  const watchers: FileWatcher[] = [];
  if (config.MODELS_FILTER !== undefined) {
    watchers.push(watchFileSetting({
      path: config.MODELS_FILTER,
      label: 'models filter',
      parse: parseModelFilter,
      apply: (filter) => {
        for (const problem of filter.problems) app.log.warn({ path: config.MODELS_FILTER }, `models filter ${problem}; skipped`);
        catalog.setFilter(filter);
      },
      log: app.log,
    }));
  }
  if (config.MODELS_CONFIG !== undefined) {
    watchers.push(watchFileSetting({ path: config.MODELS_CONFIG, label: 'models config', parse: parseModelsConfig, apply: (models) => catalog.setModelsConfig(models), log: app.log }));
  }

  // Ollama parses every body as JSON whatever its Content-Type (curl -d sends form encoding).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new GatewayError('BAD_REQUEST', `invalid JSON in request body: ${(error as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => sendError(toGatewayError(error, request), request, reply));
  app.setNotFoundHandler((request, reply) => {
    const methods = ['GET', 'HEAD', 'POST', 'DELETE'] as const;
    const path = request.url.split('?')[0] ?? '/';
    const otherMethod = methods.some((method) => method !== request.method && app.hasRoute({ method, url: path }));
    const error = otherMethod
      ? new GatewayError('METHOD_NOT_ALLOWED', '405 method not allowed')
      : new GatewayError('ROUTE_NOT_FOUND', '404 page not found');
    return sendError(error, request, reply);
  });

  await app.register(ollamaFrontend, { catalog, config });

  app.addHook('onClose', async () => {
    for (const watcher of watchers) watcher.close();
    catalog.stop();
    await Promise.all(adapters.map((adapter) => adapter.close()));
  });

  return app;
}

function createAdapters(config: Config): BackendAdapter[] {
  const adapters: BackendAdapter[] = [];
  if (config.OPENROUTER_API_KEY) {
    adapters.push(
      createOpenRouterAdapter({
        apiKey: config.OPENROUTER_API_KEY,
        baseUrl: config.OPENROUTER_BASE_URL,
        connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
        headersTimeoutMs: config.UPSTREAM_HEADERS_TIMEOUT_MS,
        bodyTimeoutMs: config.UPSTREAM_BODY_TIMEOUT_MS,
        appUrl: APP_URL,
        appTitle: APP_TITLE,
      }),
    );
  }
  if (adapters.length === 0) {
    throw new GatewayError('CONFIG_INVALID', 'no backend configured: give an OpenRouter API key with --api-key or OPENROUTER_API_KEY');
  }
  return adapters;
}

function toGatewayError(error: FastifyError | GatewayError, request: FastifyRequest): GatewayError {
  if (isGatewayError(error)) return error;
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new GatewayError('PAYLOAD_TOO_LARGE', 'request body is too large');
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new GatewayError('BAD_REQUEST', 'missing request body');
  if (status >= 400 && status < 500) return new GatewayError('BAD_REQUEST', error.message, { statusCode: status });
  request.log.error({ err: error }, 'unexpected error');
  return new GatewayError('INTERNAL', 'internal error');
}

function sendError(error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.statusCode >= 500) request.log.warn({ code: error.code, status: error.statusCode }, error.message);
  if (error.retryAfter !== undefined) reply.header('retry-after', error.retryAfter);
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(toOllamaErrorBody(error));
}
