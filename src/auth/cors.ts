/**
 * CORS headers for an Origin the access control allowed, as Ollama's gin-contrib/cors gives
 * them: the origin echoed, `Vary: Origin`, and the headers a page may read; a preflight
 * (`OPTIONS` with an Origin) gets the methods and headers it may use and 204. A request without
 * an Origin is not a CORS request and gets none of them.
 *
 * Written here instead of @fastify/cors: its hook copies its options and builds routeOptions
 * twice on every request, Origin or not (bench/README.md, "Issue 17").
 */
import type { FastifyReply } from 'fastify';

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS';

/** Request headers a page may send (Ollama's list, and what the OpenAI and Anthropic SDKs send). */
const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'User-Agent', 'Accept', 'X-Requested-With', 'OpenAI-Beta', 'X-API-Key', 'api-key',
  // Anthropic's SDK (and Claude Code) send these with every request; any value is accepted.
  'anthropic-version', 'anthropic-beta', 'anthropic-dangerous-direct-browser-access',
  'x-stainless-arch', 'x-stainless-async', 'x-stainless-custom-poll-interval', 'x-stainless-helper-method',
  'x-stainless-lang', 'x-stainless-os', 'x-stainless-package-version', 'x-stainless-poll-helper',
  'x-stainless-retry-count', 'x-stainless-runtime', 'x-stainless-runtime-version', 'x-stainless-timeout',
].join(', ');

/** Response headers a page may read: which model served (fallbacks) and when to retry. */
const EXPOSED_HEADERS = 'X-Ollama-Bridge-Model, Retry-After';

/** A preflight's answer may be reused for a day. */
const PREFLIGHT_MAX_AGE_SECONDS = '86400';

/** Headers for a request from an allowed Origin, whatever it is answered with (refusals included, so the page can read them). */
export function addCorsHeaders(reply: FastifyReply, origin: string): void {
  const vary = reply.getHeader('vary');
  reply.header('access-control-allow-origin', origin);
  reply.header('vary', vary === undefined || vary === '' ? 'Origin' : `${String(vary)}, Origin`);
  reply.header('access-control-expose-headers', EXPOSED_HEADERS);
}

/** Answers a preflight from an allowed Origin (its CORS headers already added): 204, no body. */
export function answerPreflight(reply: FastifyReply): FastifyReply {
  return reply
    .header('access-control-allow-methods', ALLOWED_METHODS)
    .header('access-control-allow-headers', ALLOWED_HEADERS)
    .header('access-control-max-age', PREFLIGHT_MAX_AGE_SECONDS)
    // Safari waits for a body after a 204 without a length.
    .header('content-length', '0')
    .code(204)
    .send();
}
