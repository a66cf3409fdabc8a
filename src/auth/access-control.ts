/**
 * Who may use the gateway: DNS-rebinding guard, CORS, client keys, spending budgets (402),
 * rate limits (per key, or per client address when no keys are configured). Registered at
 * the root (fastify-plugin), so its hooks run before every route; errors are thrown as
 * GatewayErrors and answered by the dialect's error handler of the route (Ollama `{"error"}`
 * on /api, OpenAI `{"error":{…}}` on /v1). A route that costs nothing upstream says so with
 * `config: { unmetered: true }`: it spends no request budget and is never refused for one
 * (HEAD and OPTIONS never are either).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { keyAllowsModel, keyHasScope, type KeyRecord, type KeyScope } from './api-keys.js';
import type { CatalogEntry } from '../core/model-catalog.js';
import { presentedKeys, type PresentedKey } from './credentials.js';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { KeyRing } from './key-ring.js';
import { addCorsHeaders, answerPreflight } from './cors.js';
import { isAllowedHost, isOwnOrigin, originChecker } from './origins.js';
import type { Budgets } from './budgets.js';
import { RateLimiter, type Limits, type RequestLimiter } from './rate-limiter.js';
import { GatewayError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The client key that authenticated this request; undefined when the gateway is open. */
    apiKey: KeyRecord | undefined;
  }
  interface FastifyInstance {
    /** Counts tokens against the tokens-per-minute limit of the request's key (or address, with no keys). */
    recordKeyUsage(request: FastifyRequest, tokens: number): void;
    /** The checks the access hooks make, for the one answer served in front of Fastify (frontends/ollama/fast-tags.ts). */
    accessChecks: AccessChecks;
  }
  interface FastifyContextConfig {
    /** The route costs nothing upstream (listing, show, version): it spends no rate-limit budget. */
    unmetered?: boolean;
    /** The admin page and its API (admin/plugin.ts): they check their own sign-in, not a client key. */
    adminAuth?: boolean;
  }
}

export interface AccessControlOptions {
  keyRing: KeyRing;
  /** The Host-header check applies while bound to loopback (Ollama's guard against DNS rebinding). */
  checkHostHeader: boolean;
  /** Extra allowed origins (OLLAMA_ORIGINS style). */
  origins: readonly string[];
  /** Limits for keys that do not set their own, and for each client address when no keys are configured. */
  defaultLimits: Limits;
  /** More GET/HEAD paths served without a key (`/metrics` with --metrics-public). */
  publicRoutes?: readonly string[];
  /** Spending budgets: a key whose budget is spent is refused (402) on every route that spends. */
  budgets: Budgets;
  /** Where requests and tokens are counted: default this process's memory; shared with --redis-url. */
  limiter?: RequestLimiter;
}

/** Who a request's credentials name: refused (none, unknown, expired) or a key, with where it came from. */
export type Identification =
  | { outcome: 'none' }
  | { outcome: 'unknown'; sources: PresentedKey['source'][] }
  | { outcome: 'expired'; key: KeyRecord }
  | { outcome: 'accepted'; key: KeyRecord; source: PresentedKey['source'] };

export interface AccessChecks {
  /** Whether the Host header passes the DNS-rebinding check (always, unless bound to loopback). */
  hostAllowed(host: string | undefined): boolean;
  /** Whether requests need a key (keys are configured). */
  keysRequired(): boolean;
  identify(headers: IncomingHttpHeaders, raw: IncomingMessage): Identification;
}

/** Liveness, readiness and version probes stay public: clients and orchestrators call them before they know about keys. */
const PUBLIC_ROUTES = new Set(['/', '/api/version', '/health/live', '/health/ready']);

async function accessControl(app: FastifyInstance, options: AccessControlOptions): Promise<void> {
  const allowOrigin = originChecker(options.origins);
  const publicRoutes = new Set([...PUBLIC_ROUTES, ...(options.publicRoutes ?? [])]);
  const limiter = options.limiter ?? new RateLimiter();
  const limitsAddresses = options.defaultLimits.requestsPerMinute !== undefined || options.defaultLimits.tokensPerMinute !== undefined;
  app.decorateRequest('apiKey', undefined);
  /** Whose budget a request spends, and its limits: its key's, or its address's on a gateway without keys. */
  const budgetOf = (request: FastifyRequest): { subject: string; limits: Limits } | undefined => {
    const key = request.apiKey;
    if (key !== undefined) {
      const limits: Limits = {};
      const requestsPerMinute = key.requestsPerMinute ?? options.defaultLimits.requestsPerMinute;
      const tokensPerMinute = key.tokensPerMinute ?? options.defaultLimits.tokensPerMinute;
      if (requestsPerMinute !== undefined) limits.requestsPerMinute = requestsPerMinute;
      if (tokensPerMinute !== undefined) limits.tokensPerMinute = tokensPerMinute;
      return { subject: key.id, limits };
    }
    if (options.keyRing.enabled || !limitsAddresses) return undefined;
    return { subject: `address ${request.ip}`, limits: options.defaultLimits };
  };
  app.decorate('recordKeyUsage', (request: FastifyRequest, tokens: number) => {
    const budget = budgetOf(request);
    if (budget?.limits.tokensPerMinute !== undefined) limiter.recordTokens(budget.subject, tokens);
  });

  const checks: AccessChecks = {
    // The Host header itself, never a forwarded one: a page can send X-Forwarded-Host, not Host.
    hostAllowed: (host) => !options.checkHostHeader || isAllowedHost(host),
    keysRequired: () => options.keyRing.enabled,
    identify(headers, raw) {
      const presented = presentedKeys(headers, raw);
      if (presented.length === 0) return { outcome: 'none' };
      const result = options.keyRing.authenticate(presented.map((candidate) => candidate.key));
      if (result.outcome === 'unknown') return { outcome: 'unknown', sources: presented.map((candidate) => candidate.source) };
      if (result.outcome === 'expired') return result;
      return { outcome: 'accepted', key: result.key, source: presented[result.candidate]!.source };
    },
  };
  app.decorate('accessChecks', checks);

  // Hooks in callback style: an async hook costs a promise and a tick on every request (a throw is still answered).
  // Named: GET /api/tags, answered in front of Fastify (frontends/ollama/fast-tags.ts), makes these hooks' decisions
  // itself and checks their names at start-up. A change in what one decides is a change there too.
  app.addHook('onRequest', function checkHostAndOrigin(request, reply, done) {
    if (!checks.hostAllowed(request.headers.host)) {
      throw new GatewayError('FORBIDDEN', `host "${request.headers.host}" is not allowed (DNS rebinding protection); connect through localhost`);
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (allowOrigin(origin)) addCorsHeaders(reply, origin);
      // The admin page calls its API from the gateway's own origin, whatever the bind.
      else if (!(request.routeOptions.config?.adminAuth === true && isOwnOrigin(origin, request.protocol, request.host))) {
        throw new GatewayError('FORBIDDEN', `origin "${origin}" is not allowed; add it with --origins`);
      }
    }
    done();
  });

  // A preflight from an allowed Origin (any other was refused above); without an Origin, OPTIONS is not a route.
  app.options('*', { config: { unmetered: true } }, (request, reply) => (request.headers.origin === undefined ? reply.callNotFound() : answerPreflight(reply)));

  app.addHook('onRequest', function checkKeyAndLimits(request, reply, done) {
    if (request.method === 'OPTIONS' || (!options.keyRing.enabled && !limitsAddresses && options.budgets.defaultBudget === undefined)) return done();
    // Read once: each read of routeOptions builds a new object.
    const routeConfig = request.routeOptions.config;
    if (routeConfig?.adminAuth === true) return done();
    if (options.keyRing.enabled) {
      const path = request.url.split('?', 1)[0]!;
      if (publicRoutes.has(path) && (request.method === 'GET' || request.method === 'HEAD')) return done();
      authenticate(request, reply);
    }
    if (request.method === 'HEAD' || routeConfig?.unmetered === true) return done();
    admitSpending(request).then(() => done(), (error: Error) => done(error));
  });

  /** Refuses a request that would spend past its key's budget (402) or its rate limits (429). */
  async function admitSpending(request: FastifyRequest): Promise<void> {
    const spent = await options.budgets.refusal(request.apiKey);
    if (spent !== undefined) {
      request.log.info('budget spent: request refused');
      throw spent;
    }
    const budget = budgetOf(request);
    if (budget === undefined) return;
    const admission = await limiter.admit(budget.subject, budget.limits);
    if (!admission.admitted) {
      request.log.info(request.apiKey === undefined ? { address: request.ip } : {}, admission.reason);
      throw new GatewayError('RATE_LIMITED', `${admission.reason}; retry in ${admission.retryAfterSeconds} s`, { retryAfter: String(admission.retryAfterSeconds) });
    }
  }

  /** Sets `request.apiKey` from the credentials presented, or throws 401. */
  function authenticate(request: FastifyRequest, reply: FastifyReply): void {
    const identified = checks.identify(request.headers, request.raw);
    if (identified.outcome === 'none') {
      request.log.info('request without an API key refused');
      throw new GatewayError('UNAUTHORIZED', 'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>", or prefix the URL path with /key/<key>');
    }
    if (identified.outcome === 'unknown') {
      request.log.info({ keySources: identified.sources }, 'unknown API key refused');
      throw new GatewayError('UNAUTHORIZED', 'invalid API key');
    }
    if (identified.outcome === 'expired') {
      request.log.info({ keyId: identified.key.id }, 'expired API key refused');
      throw new GatewayError('UNAUTHORIZED', 'this API key has expired');
    }
    const key = identified.key;
    request.apiKey = key;
    // Every later line of this request (including "request completed") names the key's id and how it came.
    request.log = request.log.child(keyLogBindings(identified));
    reply.log = request.log;
  }
}

/** What a request's log lines say of the key that authenticated it. */
export function keyLogBindings(identified: { key: KeyRecord; source: PresentedKey['source'] }): { keyId: string; keySource: PresentedKey['source'] } {
  return { keyId: identified.key.id, keySource: identified.source };
}

export const accessControlPlugin = fastifyPlugin(accessControl, { name: 'ollama-bridge-access-control', fastify: '5.x' });

/** Whether the request's key may use a catalog entry (by its backend id or its listed name). */
export function mayUseModel(request: FastifyRequest, entry: CatalogEntry): boolean {
  return keyAllowsModel(request.apiKey, [entry.info.id, entry.name]);
}

/**
 * A route hook that refuses (403) a key without the scope. A gateway with no keys configured
 * is open to everything, as Ollama itself is.
 */
export function requireScope(scope: KeyScope, what: string) {
  return async (request: FastifyRequest): Promise<void> => {
    if (!request.server.keyRing.enabled) return;
    const key = request.apiKey;
    if (key === undefined || !keyHasScope(key, scope)) {
      request.log.info({ scope }, 'a key without the scope was refused');
      throw new GatewayError('FORBIDDEN', `this API key may not ${what}: that needs a key with the ${scope} scope (ollama-bridge keys create --${scope})`);
    }
  };
}

/** Throws 403 when the request's key may not use this model. */
export function assertModelAccess(request: FastifyRequest, entry: CatalogEntry, requestedName: string): void {
  if (!mayUseModel(request, entry)) throw new GatewayError('FORBIDDEN', `this API key may not use model '${requestedName}'`);
}
