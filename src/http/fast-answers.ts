/**
 * Cached answers served in front of Fastify. Every Ollama client polls `GET /api/tags`
 * (Open WebUI on each page, Copilot and JetBrains on a timer), and its body is already bytes
 * built once per catalog snapshot; what is left to spend per request is the framework's
 * pipeline (routing, request and reply objects, hooks, a child logger). A request that needs
 * none of that pipeline is answered here, with the same status, headers and body as the
 * Fastify route; any other request (a key to check, an Origin to answer with CORS, a Host to
 * refuse, a query string, a catalog not fetched yet or due for a refresh) goes on to Fastify,
 * which answers it the usual way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';

/** The bytes to send now, or undefined to let the Fastify route answer. */
export type CachedBody = () => Buffer | undefined;

export interface FastAnswersOptions {
  /** Whether a request may skip the access-control hooks (open gateway, no Origin, allowed Host). */
  needsNoChecks: (request: IncomingMessage) => boolean;
  log: FastifyBaseLogger;
}

interface CachedRoute {
  contentType: string;
  body: CachedBody;
  /** The headers of the last body served, built once per body. */
  headersFor: Buffer | undefined;
  headers: Record<string, string | number>;
}

const LOGS_REQUESTS = new Set(['trace', 'debug', 'info']);

export class FastAnswers {
  private readonly routes = new Map<string, CachedRoute>();
  private enabled = true;
  /** Whether Fastify would log this request's completion (the level is fixed at start-up). */
  private readonly logsRequests: boolean;

  constructor(private readonly options: FastAnswersOptions) {
    this.logsRequests = LOGS_REQUESTS.has(options.log.level);
  }

  /** Serves `GET path` (exact, no query string) from `body` when it can. */
  get(path: string, contentType: string, body: CachedBody): void {
    this.routes.set(path, { contentType, body, headersFor: undefined, headers: {} });
  }

  /** From now on every request goes to Fastify (it answers 503 while closing). */
  disable(): void {
    this.enabled = false;
  }

  /** Answers the request and returns true, or returns false without touching it. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.enabled || request.method !== 'GET') return false;
    const route = this.routes.get(request.url ?? '');
    if (route === undefined || !this.options.needsNoChecks(request)) return false;
    const body = route.body();
    if (body === undefined) return false;
    const logs = this.logsRequests;
    const started = logs ? performance.now() : 0;
    if (route.headersFor !== body) {
      route.headersFor = body;
      route.headers = { 'content-length': body.length, 'content-type': route.contentType, vary: 'Origin' };
    }
    response.writeHead(200, route.headers);
    response.end(body);
    // The line Fastify would log for this request, so request logs stay complete.
    if (logs) this.options.log.info({ req: { method: 'GET', url: request.url }, res: { statusCode: 200 }, responseTime: performance.now() - started }, 'request completed');
    return true;
  }
}
