/**
 * pino options shared by the server: secrets are redacted from every line, including
 * error logs (keys, Authorization headers, the OpenRouter key). Three layers: credential
 * fields by path, key-like query parameters in the request URL, and, for anything else that
 * quotes a secret (an error's message or its causes, whatever it is), every finished line is
 * passed through redactSecrets before it is written.
 */
import type { FastifyServerOptions, FastifyRequest } from 'fastify';
import { redactSecrets, redactUrl } from './core/secrets.js';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'headers.authorization',
  'config.OPENROUTER_API_KEY',
  'apiKey',
  'OPENROUTER_API_KEY',
];

/** What the logger writes to: one call per line (a stream, or the start-up log output). */
export interface LogDestination {
  write(line: string): void;
}

/**
 * Fastify's own request serializer, with key-like query parameters redacted from the URL.
 * Also given plain `{method, url}` objects (the cached answers log those).
 */
export function serializeRequest(request: Partial<FastifyRequest>): Record<string, unknown> {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

export function loggerOptions(level: string, destination?: LogDestination): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { req: serializeRequest },
    hooks: { streamWrite: redactSecrets },
    ...(destination === undefined ? {} : { stream: destination }),
  };
}
