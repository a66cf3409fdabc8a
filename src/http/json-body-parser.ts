/**
 * How every route reads its request body: as JSON whatever its Content-Type, as Ollama does
 * (curl -d sends form encoding), bounded in depth and size (json-body.ts). Only the parsed
 * value is kept: what goes to an upstream is what was checked, serialised again.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayError } from '../errors.js';
import { parseJsonBody } from './json-body.js';

export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', '*'], { parseAs: 'buffer' }, (_request, body, done) => {
    let value: unknown;
    try {
      value = parseJsonBody(body as Buffer);
    } catch (error) {
      return done(error as GatewayError, undefined);
    }
    done(null, value);
  });
}
