/**
 * pino options shared by the server: secrets are redacted from every line, including
 * error logs (keys, Authorization headers, the OpenRouter key).
 */
import type { FastifyServerOptions } from 'fastify';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'config.OPENROUTER_API_KEY',
  'apiKey',
  'OPENROUTER_API_KEY',
];

/** What the logger writes to: one call per line (a stream, or the start-up log output). */
export interface LogDestination {
  write(line: string): void;
}

export function loggerOptions(level: string, destination?: LogDestination): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(destination === undefined ? {} : { stream: destination }),
  };
}
