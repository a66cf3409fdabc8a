/**
 * What every front end does with a request body and with an error: validate the body once
 * with its zod schema, and turn any error (ours, Fastify's, or an unexpected one) into a
 * GatewayError answered in the front end's dialect.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { GatewayError, isGatewayError } from '../errors.js';
import { MALFORMED_URL_MESSAGE } from './request-url.js';

export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  if (body === undefined || body === null || body === '') throw new GatewayError('BAD_REQUEST', 'missing request body');
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new GatewayError('BAD_REQUEST', `invalid request: ${path}${issue.message}`);
  }
  return parsed.data;
}

/** Fastify's own errors keep their 4xx status; anything unexpected is logged and hidden. */
export function toGatewayError(error: FastifyError | GatewayError, request: FastifyRequest): GatewayError {
  const converted = asGatewayError(error);
  if (converted !== error && converted.code === 'INTERNAL') request.log.error({ err: error }, 'unexpected error');
  return converted;
}

/** What toGatewayError answers for an error, without logging it. */
export function asGatewayError(error: FastifyError | GatewayError): GatewayError {
  if (isGatewayError(error)) return error;
  const status = error.statusCode ?? 500;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new GatewayError('PAYLOAD_TOO_LARGE', 'request body is too large');
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return new GatewayError('BAD_REQUEST', 'missing request body');
  if (error.code === 'FST_ERR_BAD_URL') return new GatewayError('BAD_REQUEST', MALFORMED_URL_MESSAGE);
  // Any well-formed Content-Type is read as JSON (as Ollama does); only one that does not parse gets here.
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new GatewayError('BAD_REQUEST', 'unreadable Content-Type header: send the body as application/json', { statusCode: 415 });
  if (status >= 400 && status < 500) return new GatewayError('BAD_REQUEST', error.message, { statusCode: status });
  return new GatewayError('INTERNAL', 'internal error');
}

/** Answers an error with its status (and Retry-After) and the dialect's body. */
export function sendGatewayError(error: GatewayError, request: FastifyRequest, reply: FastifyReply, toBody: (error: GatewayError) => unknown): FastifyReply {
  if (error.code === 'CLIENT_CLOSED') request.log.debug('the client closed the connection');
  else if (error.statusCode >= 500) request.log.warn({ code: error.code, status: error.statusCode }, error.message);
  if (error.retryAfter !== undefined) reply.header('retry-after', error.retryAfter);
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(toBody(error));
}

/**
 * Listing bodies (/api/tags, /v1/models) built once per catalog snapshot, and once per key
 * for keys limited to some models: a listing request then costs a lookup, not a rebuild.
 */
export function listingCache<Snapshot extends object, Entry>(
  entriesOf: (snapshot: Snapshot) => readonly Entry[],
  build: (entries: readonly Entry[]) => string,
): (snapshot: Snapshot, keyId: string | undefined, allowed: (entry: Entry) => boolean) => Buffer {
  const cache = new WeakMap<Snapshot, Map<string, Buffer>>();
  return (snapshot, keyId, allowed) => {
    const cacheKey = keyId ?? '*';
    let bodies = cache.get(snapshot);
    if (bodies === undefined) cache.set(snapshot, (bodies = new Map<string, Buffer>()));
    let body = bodies.get(cacheKey);
    if (body === undefined) {
      const entries = keyId === undefined ? entriesOf(snapshot) : entriesOf(snapshot).filter(allowed);
      body = Buffer.from(build(entries), 'utf8');
      bodies.set(cacheKey, body);
    }
    return body;
  };
}
