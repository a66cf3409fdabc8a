/**
 * One UsageRecord (usage-record.ts) for every answered request on a route that can spend
 * upstream (any route not marked `config: { unmetered: true }`), and one log line for every
 * answered request. A hook ahead of all others opens the request's RequestUsage, so refusals
 * in later hooks (rate limits, budgets) and in handlers (an unknown model, a bad body) are
 * recorded as well as answers; the route fills it in as it answers (meterRequest). When the
 * response closes — finished, failed or cut off by the client — the usage is settled once
 * (tokens per minute), the record goes to `app.usageEvents`, and the line is logged.
 *
 * A request that did not authenticate on a gateway with keys (401, or refused before its key
 * was looked at) is logged but not recorded: it has no key to charge, and anyone can send it.
 */
import type { FastifyBaseLogger, FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import fastifyPlugin from 'fastify-plugin';
import { asGatewayError } from '../http/request-errors.js';
import { REQUEST_LOG_MESSAGE, requestLogLine } from './request-log-line.js';
import { RequestUsage, estimatePromptTokens } from './request-usage.js';
import type { UsageRecord } from './usage-record.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What this request spent and how it went (recorded only on a route that can spend); opened when first read. */
    usage: RequestUsage;
    /** When the request arrived, on performance.now()'s clock. */
    arrivedAt: number;
    /** The usage once read (a route that spends, a refusal); null for a request that never touched it. */
    openedUsage: RequestUsage | null;
  }
  interface FastifyInstance {
    /** Tells the listener of every request whose response closed, with its status (499: the client left before any). */
    onResponseClosed(listener: ResponseClosedListener): void;
    /**
     * How a request on a route that spends nothing ends once its response closed, for the one
     * answer served in front of Fastify (frontends/ollama/fast-tags.ts): what closing a Fastify
     * request of such a route does, its listeners told and its line logged.
     */
    endUnmeteredRequest(request: EndedRequest, response: ServerResponse, route: string): void;
  }
}

/** What the end of a request reads: the request, its body if it had one, its logger. */
export interface EndedRequest {
  method: string;
  url: string;
  body: unknown;
  /** On performance.now()'s clock. */
  arrivedAt: number;
  log: FastifyBaseLogger;
}

/** `route`: the route's pattern, undefined when no route matched. */
type ResponseClosedListener = (request: EndedRequest, status: number, route: string | undefined) => void;

const INFO_OR_FINER = new Set(['info', 'debug', 'trace']);

/** Status of an answer the client left before any status was sent (nginx's "client closed request"). */
const CLIENT_CLOSED_STATUS = 499;

async function requestRecords(app: FastifyInstance): Promise<void> {
  app.decorateRequest('arrivedAt', 0);
  app.decorateRequest('openedUsage', null);
  // Opened on first use: most requests (listings, probes) never spend, and never build one.
  app.decorateRequest('usage', {
    getter(this: FastifyRequest): RequestUsage {
      return (this.openedUsage ??= startUsage(this));
    },
  });

  // The level is set once, at start-up.
  const logsRequests = INFO_OR_FINER.has(app.log.level);
  // One 'close' listener per request for the record, the log line and every other listener (the metrics).
  const listeners: ResponseClosedListener[] = [];
  app.decorate('onResponseClosed', (listener: ResponseClosedListener) => {
    listeners.push(listener);
  });
  app.decorate('endUnmeteredRequest', (request: EndedRequest, response: ServerResponse, route: string) => ended(request, closedStatus(response), route, undefined, logsRequests, listeners));
  // Named: GET /api/tags, answered in front of Fastify (frontends/ollama/fast-tags.ts), makes these hooks' decisions
  // itself and checks their names at start-up. A change in what one decides is a change there too.
  app.addHook('onRequest', function recordRequest(request, reply, done) {
    request.arrivedAt = performance.now();
    // A response closes once: `on` spares the wrapper `once` allocates.
    reply.raw.on('close', () => closed(request, reply, logsRequests, listeners));
    done();
  });

  // The error a refusal or a failure is answered with (before the first byte; in-band ones are told by the route).
  app.addHook('onError', function recordFailure(request, _reply, error, done) {
    request.usage.failed(asGatewayError(error).code);
    done();
  });
}

export const requestRecordsPlugin = fastifyPlugin(requestRecords, { name: 'ollama-bridge-request-records', fastify: '5.x' });

/** A route that can spend upstream: a matched route, not `unmetered`, not a HEAD or an OPTIONS (which never spend). */
function maySpend(request: FastifyRequest, route: string | undefined, config: FastifyContextConfig | undefined): boolean {
  return route !== undefined && config?.unmetered !== true && request.method !== 'HEAD' && request.method !== 'OPTIONS';
}

/** A closed response's status: the one sent, or 499 when the client left before any. */
function closedStatus(response: ServerResponse): number {
  return response.headersSent ? response.statusCode : CLIENT_CLOSED_STATUS;
}

function startUsage(request: FastifyRequest): RequestUsage {
  return new RequestUsage(
    request.arrivedAt,
    () => estimatePromptTokens(request.body),
    (spent) => request.server.recordKeyUsage(request, spent.inputTokens + spent.outputTokens),
  );
}

function closed(request: FastifyRequest, reply: FastifyReply, logsRequests: boolean, listeners: readonly ResponseClosedListener[]): void {
  const response = reply.raw;
  const status = closedStatus(response);
  // Counted against the key's limits whether recorded or not.
  request.openedUsage?.settle();
  // Read once: each read of routeOptions builds a new object.
  const { url: route, config } = request.routeOptions;
  let record: UsageRecord | undefined;
  if (maySpend(request, route, config) && authenticated(request)) {
    record = request.usage.record({
      ...(request.apiKey === undefined ? {} : { keyId: request.apiKey.id, keyName: request.apiKey.name }),
      clientAddress: request.ip,
      method: request.method,
      route: route!,
      ...modelRequested(request.body),
      status,
      delivered: response.writableFinished,
    });
    request.server.usageEvents.emit(record);
  }
  ended(request, status, route, record, logsRequests, listeners);
}

/** What ends every answered request, after its record: the listeners told (the metrics), the line logged. */
function ended(request: EndedRequest, status: number, route: string | undefined, record: UsageRecord | undefined, logsRequests: boolean, listeners: readonly ResponseClosedListener[]): void {
  for (const listener of listeners) listener(request, status, route);
  if (!logsRequests) return;
  const durationMs = record?.durationMs ?? performance.now() - request.arrivedAt;
  request.log.info(requestLogLine({ method: request.method, url: request.url, ...(route === undefined ? {} : { route }), status, durationMs }, record), REQUEST_LOG_MESSAGE);
}

/** Whether the request got past authentication: a key authenticated it, or the gateway has no keys. */
function authenticated(request: FastifyRequest): boolean {
  return !request.server.keyRing.enabled || request.apiKey !== undefined;
}

function modelRequested(body: unknown): { modelRequested?: string } {
  const model = typeof body === 'object' && body !== null ? (body as { model?: unknown }).model : undefined;
  return typeof model === 'string' && model !== '' ? { modelRequested: model } : {};
}
