/**
 * The per-request logger stand-in (http/lazy-request-logger.ts): no pino child until the
 * request writes a line; the lines it writes are the real child's (request id, redaction).
 */
import { describe, expect, it } from 'vitest';
import { pino, type Bindings, type ChildLoggerOptions } from 'pino';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { lazyRequestLogger } from '../../src/http/lazy-request-logger.js';

function capturedLogger(level: string): { parent: FastifyBaseLogger; lines: Array<Record<string, unknown>>; childrenMade: () => number } {
  const lines: Array<Record<string, unknown>> = [];
  const root = pino({ level, redact: { paths: ['apiKey'], censor: '[redacted]' } }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  let made = 0;
  const parent = Object.create(root) as FastifyBaseLogger;
  parent.child = (bindings: Bindings, options?: ChildLoggerOptions) => {
    made++;
    return root.child(bindings, options);
  };
  return { parent, lines, childrenMade: () => made };
}

const makeChild = (parent: FastifyBaseLogger, options: ChildLoggerOptions = {}): FastifyBaseLogger =>
  lazyRequestLogger.call({} as FastifyInstance, parent, { reqId: 'req-7' }, options, {} as IncomingMessage);

describe('lazyRequestLogger', () => {
  it('makes no child for a request that writes nothing, and reads the level of its parent', () => {
    const { parent, childrenMade } = capturedLogger('warn');
    const logger = makeChild(parent);
    expect(logger.level).toBe('warn');
    expect(childrenMade()).toBe(0);
  });

  it('writes through the real child: the request id, the redaction, and a child of it binds both', () => {
    const { parent, lines, childrenMade } = capturedLogger('info');
    const logger = makeChild(parent);
    logger.info({ apiKey: 'sk-secret' }, 'first');
    logger.warn('second');
    logger.debug('below the level');
    logger.child({ keyId: 'k1' }).error('third');
    expect(childrenMade()).toBe(1);
    expect(lines.map((line) => [line.msg, line.reqId, line.keyId])).toEqual([['first', 'req-7', undefined], ['second', 'req-7', undefined], ['third', 'req-7', 'k1']]);
    expect(lines[0]!.apiKey).toBe('[redacted]');
  });

  it('gives a route with its own level the real child at once', () => {
    const { parent, lines, childrenMade } = capturedLogger('warn');
    const logger = makeChild(parent, { level: 'debug' });
    expect(childrenMade()).toBe(1);
    logger.debug('shown');
    expect(lines.map((line) => line.msg)).toEqual(['shown']);
  });
});
