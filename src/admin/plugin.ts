/**
 * The admin page and its JSON API (`/admin`, `/admin/api/*`; shapes in api-types.ts). Every
 * route here is `adminAuth` (the client-key check skips it: the page and the session routes
 * are reachable without a key, the rest check a session or a bearer admin key themselves) and
 * `unmetered` (never rate limited or recorded as usage). The DNS-rebinding Host check applies.
 * Any other path under /admin/ is 404 (not-found.ts).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Config } from '#schemas/config.js';
import { defaultBudgetFrom } from '../auth/budgets.js';
import { liveAcrossWorkers } from '../cluster/live-across-workers.js';
import { signOutsAcrossWorkers } from '../cluster/sign-outs-across-workers.js';
import { adminCaller } from './admin-auth.js';
import { FilterEditor } from './filter-editor.js';
import type { KeyEditor } from './key-editor.js';
import { registerKeyRoutes, type SpendReader } from './key-routes.js';
import { LiveRequests } from './live-requests.js';
import { registerNotFound } from './not-found.js';
import { SECURITY_HEADERS, registerPage } from './page.js';
import { registerReportRoutes } from './report-routes.js';
import { registerSessionRoutes } from './session-routes.js';
import type { RequestLimiter } from '../auth/rate-limiter.js';
import { AdminSessions, type SharedSignOuts } from './sessions.js';

export interface AdminPluginOptions {
  config: Config;
  /** Each key's spend in its budget period (the budgets' own figures). */
  keySpend: SpendReader;
  /** Writes the keys file (app.ts makes it, as `app.adminKeyEditor`, for others to hear of changes). */
  keyEditor: KeyEditor;
  /** The built page (default: dist/admin-page in the package, from src/ and dist/ alike). */
  pageDir?: string;
  /**
   * Signs the session cookies (default: random, this process only). The workers of one
   * `--workers` gateway are given the same, so a session signed in on one works on all.
   */
  sessionSecret?: string;
  /** Sign-outs shared with the other gateways on one Redis (with the same secret). */
  signOuts?: SharedSignOuts;
  /** Where failed sign-ins are counted: Redis, the primary of `--workers`, or (default) this process. */
  signInFailures?: RequestLimiter;
  now?: () => number;
}

/** `<package root>/dist/admin-page`: this file is src/admin/plugin.ts or dist/admin/plugin.js. */
const DEFAULT_PAGE_DIR = fileURLToPath(new URL('../../dist/admin-page', import.meta.url));

/** Session routes that a signed-out page calls (the rest go through the guard). */
const UNGUARDED = new Set(['GET /admin/api/session', 'POST /admin/api/session', 'DELETE /admin/api/session']);

export async function adminPlugin(app: FastifyInstance, options: AdminPluginOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const { config } = options;
  await app.register(cookie);
  // reply.sendFile only: the routes are page.ts's.
  // preCompressed: the build writes .br and .gz copies (admin-page/vite.config.ts), sent to clients that accept them.
  await app.register(fastifyStatic, { serve: false, preCompressed: true });

  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, adminAuth: true, unmetered: true };
  });
  app.addHook('onRequest', async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS);
  });

  const secret = options.sessionSecret === undefined ? randomBytes(32) : Buffer.from(options.sessionSecret, 'utf8');
  // A sign-out reaches every worker of --workers, and every gateway on the same Redis.
  const signOuts = [await signOutsAcrossWorkers(), options.signOuts].filter((shared) => shared !== undefined);
  const sessions = new AdminSessions(app.keyRing, secret, now, undefined, signOuts);
  // Before the body is read: nobody but an admin makes the gateway parse one.
  app.addHook('onRequest', async (request) => {
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (request.routeOptions.url?.startsWith('/admin/api/') !== true || UNGUARDED.has(route)) return;
    adminCaller(request, sessions, app.keyRing);
  });

  const { keyEditor } = options;
  // Under --workers, the whole gateway's feed (undefined peers: this process's).
  const live = new LiveRequests(app.usageEvents, liveAcrossWorkers());
  // First: it hears of every admin route after it.
  registerNotFound(app);
  registerPage(app, options.pageDir ?? DEFAULT_PAGE_DIR);
  registerSessionRoutes(app, { sessions, keyRing: app.keyRing, now, ...(options.signInFailures === undefined ? {} : { failures: options.signInFailures }) });
  registerKeyRoutes(app, {
    editor: keyEditor,
    keyRing: app.keyRing,
    keySpend: options.keySpend,
    lastUsedByKey: () => live.lastUsedByKey(),
    defaults: {
      requestsPerMinute: config.RATE_LIMIT_RPM > 0 ? config.RATE_LIMIT_RPM : null,
      tokensPerMinute: config.RATE_LIMIT_TPM > 0 ? config.RATE_LIMIT_TPM : null,
      budget: defaultBudgetFrom(config),
    },
    now,
  });
  registerReportRoutes(app, { filterEditor: new FilterEditor(config.MODELS_FILTER, app.catalog), live, startedAt: now(), now });
}
