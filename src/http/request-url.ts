/**
 * The request URL before routing. Fastify's `rewriteUrl` may not throw (nothing catches it:
 * the process would stop) and cannot answer, so a URL whose percent-encoding is malformed
 * anywhere (key prefix, path, query) is only marked here, and the first onRequest hook
 * answers it with 400 in the dialect of the route it reached.
 */
import type { IncomingMessage } from 'node:http';
import { KEY_PATH_PREFIX, stripPathKey } from '../auth/credentials.js';

export const MALFORMED_URL_MESSAGE = 'malformed request URL: percent-encoding must be %XX and decode to valid UTF-8';

const malformedUrlSymbol = Symbol('ollama-bridge.malformed-url');

type MarkedRequest = IncomingMessage & { [malformedUrlSymbol]?: true };

/** Fastify `rewriteUrl`: marks a malformed URL, then strips a `/key/<KEY>` prefix. */
export function rewriteRequestUrl(request: IncomingMessage): string {
  const url = request.url ?? '/';
  if (url.includes('%') && !decodes(url)) (request as MarkedRequest)[malformedUrlSymbol] = true;
  return stripPathKey(request);
}

export function hasMalformedUrl(request: IncomingMessage): boolean {
  return (request as MarkedRequest)[malformedUrlSymbol] === true;
}

/** Whether every `%` starts a %XX escape and the escapes form valid UTF-8 (as decodeURI needs). */
function decodes(url: string): boolean {
  try {
    decodeURIComponent(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a URL (as received, or after the key prefix is stripped; origin- or absolute-form)
 * is under `/v1`, where errors are answered in OpenAI's dialect; everything else is Ollama's.
 */
export function isOpenAiUrl(url: string): boolean {
  let path = url;
  if (!path.startsWith('/')) {
    // http://host/v1/… → /v1/…
    const authority = path.indexOf('//');
    const pathStart = authority === -1 ? -1 : path.indexOf('/', authority + 2);
    path = pathStart === -1 ? '/' : path.slice(pathStart);
  }
  if (path.startsWith(KEY_PATH_PREFIX)) {
    const end = path.indexOf('/', KEY_PATH_PREFIX.length);
    path = end === -1 ? '/' : path.slice(end);
  }
  return path.startsWith('/v1') && (path.length === 3 || path[3] === '/' || path[3] === '?' || path[3] === '#');
}
