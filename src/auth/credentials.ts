/**
 * Where a client's key can come from. Headers first (`Authorization: Bearer`, `X-API-Key`,
 * `api-key`, or the password of `Authorization: Basic` for URLs like
 * `http://user:KEY@host:11434`); then, for clients that take only a URL (VS Code Copilot,
 * JetBrains), a `/key/<KEY>` path prefix that the gateway strips before routing and never
 * logs. Keys in query strings are not accepted: they end up in access logs.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export const KEY_PATH_PREFIX = '/key/';
const pathKeySymbol = Symbol('ollama-bridge.path-key');

type RawRequestWithKey = IncomingMessage & { [pathKeySymbol]?: string };

/**
 * Strips a `/key/<KEY>` prefix and remembers the key on the raw request. Never throws (it
 * runs in Fastify's `rewriteUrl`, where nothing would catch it): a key whose
 * percent-encoding is malformed is not remembered (request-url.ts answers such a URL with 400).
 */
export function stripPathKey(request: IncomingMessage): string {
  const url = request.url ?? '/';
  if (!url.startsWith(KEY_PATH_PREFIX)) return url;
  let end = url.indexOf('/', KEY_PATH_PREFIX.length);
  const query = url.indexOf('?', KEY_PATH_PREFIX.length);
  if (query !== -1 && (end === -1 || query < end)) end = query;
  const encoded = url.slice(KEY_PATH_PREFIX.length, end === -1 ? undefined : end);
  try {
    (request as RawRequestWithKey)[pathKeySymbol] = decodeURIComponent(encoded);
  } catch {
    // Malformed: no key from the path.
  }
  if (end === -1) return '/';
  return url[end] === '?' ? `/${url.slice(end)}` : url.slice(end);
}

export interface PresentedKey {
  key: string;
  /** Where it came from, for logs. */
  source: 'authorization' | 'x-api-key' | 'api-key' | 'basic' | 'path';
}

/** At most one value per way of presenting a key, so a request costs at most this many checks. */
export const MAX_PRESENTED_KEYS = 5;

/**
 * Every key the request presents, in a fixed order (Authorization, X-API-Key, api-key, path),
 * without repeats. An SDK sends `Authorization: Bearer <apiKey>` even when the real key is in
 * the URL path, so each one is a candidate: the request is accepted when any is valid.
 */
export function presentedKeys(headers: IncomingHttpHeaders, raw: IncomingMessage): PresentedKey[] {
  const found: PresentedKey[] = [];
  const add = (key: string | undefined, source: PresentedKey['source']): void => {
    if (key !== undefined && key !== '' && found.length < MAX_PRESENTED_KEYS && !found.some((candidate) => candidate.key === key)) found.push({ key, source });
  };
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const space = authorization.indexOf(' ');
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space === -1 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer') add(value, 'authorization');
    if (scheme === 'basic' && value !== '') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      add(colon === -1 ? decoded : decoded.slice(colon + 1), 'basic');
    }
  }
  add(single(headers['x-api-key']), 'x-api-key');
  add(single(headers['api-key']), 'api-key');
  add((raw as RawRequestWithKey)[pathKeySymbol], 'path');
  return found;
}

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const trimmed = text?.trim();
  return trimmed === '' ? undefined : trimmed;
}
