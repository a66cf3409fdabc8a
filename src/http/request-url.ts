/**
 * The request URL before routing. Fastify's `rewriteUrl` may not throw (nothing catches it:
 * the process would stop) and cannot answer, so a URL whose percent-encoding is malformed
 * anywhere (key prefix, path, query) is only marked here, and the first onRequest hook
 * answers it with 400 in the dialect of the route it reached.
 */
import type { IncomingMessage } from 'node:http';
import { KEY_PATH_PREFIX, stripPathKey } from '../auth/credentials.js';
import { toAnthropicErrorBody, toOllamaErrorBody, toOpenAiErrorBody, type GatewayError } from '../errors.js';

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
 * The error body of the dialect a URL (as received, or after the key prefix is stripped;
 * origin- or absolute-form) is answered in: Anthropic's under `/v1/messages`, OpenAI's
 * elsewhere under `/v1`, Ollama's everywhere else.
 */
export function errorBodyForUrl(url: string): (error: GatewayError) => unknown {
  const path = pathOf(url);
  if (isUnder(path, '/v1/messages')) return toAnthropicErrorBody;
  return isUnder(path, '/v1') ? toOpenAiErrorBody : toOllamaErrorBody;
}

/** The path of a URL, without a `/key/<KEY>` prefix. */
function pathOf(url: string): string {
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
  return path;
}

/** Whether `path` is `prefix` or below it (`/v1`, `/v1/…`, `/v1?…`, not `/v1beta`). */
function isUnder(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  const next = path[prefix.length];
  return next === undefined || next === '/' || next === '?' || next === '#';
}
