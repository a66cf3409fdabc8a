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

/** Fastify `rewriteUrl`: strips a `/key/<KEY>` prefix and remembers the key on the raw request. */
export function stripPathKey(request: IncomingMessage): string {
  const url = request.url ?? '/';
  if (!url.startsWith(KEY_PATH_PREFIX)) return url;
  const end = url.indexOf('/', KEY_PATH_PREFIX.length);
  const key = decodeURIComponent(url.slice(KEY_PATH_PREFIX.length, end === -1 ? undefined : end));
  (request as RawRequestWithKey)[pathKeySymbol] = key;
  return end === -1 ? '/' : url.slice(end);
}

export interface PresentedKey {
  key: string;
  /** Where it came from, for logs. */
  source: 'authorization' | 'x-api-key' | 'api-key' | 'basic' | 'path';
}

export function presentedKey(headers: IncomingHttpHeaders, raw: IncomingMessage): PresentedKey | undefined {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const space = authorization.indexOf(' ');
    const scheme = (space === -1 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space === -1 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer' && value !== '') return { key: value, source: 'authorization' };
    if (scheme === 'basic' && value !== '') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const password = colon === -1 ? decoded : decoded.slice(colon + 1);
      if (password !== '') return { key: password, source: 'basic' };
    }
  }
  const apiKeyHeader = single(headers['x-api-key']);
  if (apiKeyHeader) return { key: apiKeyHeader, source: 'x-api-key' };
  const azureStyle = single(headers['api-key']);
  if (azureStyle) return { key: azureStyle, source: 'api-key' };
  const fromPath = (raw as RawRequestWithKey)[pathKeySymbol];
  if (fromPath) return { key: fromPath, source: 'path' };
  return undefined;
}

function single(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const trimmed = text?.trim();
  return trimmed === '' ? undefined : trimmed;
}
