/**
 * `GET /api/tags`, the route every client polls, answered in front of Fastify's pipeline: it
 * pays beyond the bench's spread (bench/README.md, "Issue 17: `/api/tags` in front of Fastify
 * again"). It makes the decisions of the hooks the route runs by calling their functions, and
 * answers only a request they let through unchanged; any other goes on to Fastify. It stays
 * off, and says so, when the route runs a hook it does not know.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import type { KeyRecord } from '../../auth/api-keys.js';
import { keyLogBindings } from '../../auth/access-control.js';
import type { CatalogSnapshot, ModelCatalog } from '../../core/model-catalog.js';
import { WORKER_HEADER, workerId } from '../../cluster/worker-header.js';
import { routeHooks } from '../../http/route-hooks.js';

export const TAGS_PATH = '/api/tags';

/** The hooks whose decisions are made here, by Fastify hook and function name, in order. */
function knownHooks(worker: boolean): Map<string, string[]> {
  return new Map([
    ['onRequest', ['recordRequest', 'refuseWhileClosing', ...(worker ? ['sayWhichWorker'] : []), 'checkHostAndOrigin', 'checkKeyAndLimits']],
    ['onError', ['recordFailure']],
  ]);
}

export interface FastTagsOptions {
  catalog: ModelCatalog;
  contentType: string;
  /** The route's body for a key (undefined: a gateway without keys). */
  body(key: KeyRecord | undefined, snapshot: CatalogSnapshot): Buffer;
}

/** Why the answer in front stays off, or undefined when the route runs exactly the known hooks. */
export function unknownHooksProblem(app: FastifyInstance): string | undefined {
  const hooks = routeHooks(app, 'GET', TAGS_PATH);
  if (hooks === undefined) return `GET ${TAGS_PATH} is not in Fastify's route listing`;
  const known = knownHooks(workerId() !== undefined);
  for (const [hook, names] of hooks) {
    if (JSON.stringify(names) !== JSON.stringify(known.get(hook) ?? [])) return `its ${hook} hooks are ${JSON.stringify(names)}, not ${JSON.stringify(known.get(hook) ?? [])}`;
  }
  for (const hook of known.keys()) if (!hooks.has(hook)) return `it runs no ${hook} hook`;
  return undefined;
}

/** How many requests each server's answer in front has answered (undefined: it is off), for the tests. */
const answeredByServer = new WeakMap<object, { count: number }>();

export function tagsAnsweredInFront(server: object): number | undefined {
  return answeredByServer.get(server)?.count;
}

/** Once the app is ready: puts the answer in front of Fastify's request listener, unless the route's hooks are not the known ones. */
export function serveTagsInFront(app: FastifyInstance, options: FastTagsOptions): void {
  app.addHook('onReady', async () => {
    const problem = unknownHooksProblem(app);
    if (problem !== undefined) {
      app.log.warn(`GET ${TAGS_PATH} goes through Fastify's pipeline: ${problem}`);
      return;
    }
    const [fastify] = app.server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
    if (fastify === undefined) return;
    const answered = { count: 0 };
    answeredByServer.set(app.server, answered);
    const answer = tagsAnswerer(app, options, answered);
    app.server.removeListener('request', fastify);
    app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      if (!answer(request, response)) fastify(request, response);
    });
  });
}

function tagsAnswerer(app: FastifyInstance, options: FastTagsOptions, answered: { count: number }): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { catalog } = options;
  const checks = app.accessChecks;
  const closing = app.closingState;
  const worker = workerId();
  // The headers of the last body sent, in the order Fastify sends them; made once per body.
  let headersFor: Buffer | undefined;
  let headers: Record<string, string> = {};
  return (request, response) => {
    if (request.method !== 'GET' || request.url !== TAGS_PATH) return false;
    const requestHeaders = request.headers;
    if (requestHeaders.origin !== undefined || requestHeaders['content-length'] !== undefined || requestHeaders['transfer-encoding'] !== undefined) return false;
    // recordRequest
    const arrivedAt = performance.now();
    // refuseWhileClosing (a URL that does not decode cannot be this one)
    if (closing.step !== 'open') return false;
    // checkHostAndOrigin (no Origin, above)
    if (!checks.hostAllowed(requestHeaders.host)) return false;
    // checkKeyAndLimits: the route is unmetered, so only the key is checked
    let key: KeyRecord | undefined;
    let keyBindings: ReturnType<typeof keyLogBindings> | undefined;
    if (checks.keysRequired()) {
      const identified = checks.identify(requestHeaders, request);
      if (identified.outcome !== 'accepted') return false;
      key = identified.key;
      keyBindings = keyLogBindings(identified);
    }
    // The route's handler, when the catalog needs no refresh.
    const snapshot = catalog.freshSnapshot();
    if (snapshot === undefined) return false;
    let body: Buffer;
    try {
      body = options.body(key, snapshot);
    } catch {
      // Fastify's route meets the same failure and answers it (500, in the Ollama shape).
      return false;
    }
    const id = app.nextRequestId();
    let log = app.childLoggerFactory.call(app, app.log, { reqId: id }, {}, request);
    if (keyBindings !== undefined) log = log.child(keyBindings);
    response.on('close', () => app.endUnmeteredRequest({ method: 'GET', url: TAGS_PATH, body: undefined, arrivedAt, log }, response, TAGS_PATH));
    if (headersFor !== body) {
      headersFor = body;
      headers = { ...(worker === undefined ? {} : { [WORKER_HEADER]: worker }), 'content-type': options.contentType, 'content-length': String(body.length) };
    }
    response.writeHead(200, headers);
    response.end(body);
    answered.count++;
    return true;
  };
}
