import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * The one place a generated stream is handed to Fastify. Fastify pipes the Readable into
 * the response (honouring `drain`) and destroys it when the client goes away, which runs
 * the generators' `finally` blocks and so releases the upstream request.
 */
export function sendStream(reply: FastifyReply, contentType: string, source: AsyncIterable<string | Uint8Array>): FastifyReply {
  reply.header('content-type', contentType);
  reply.header('cache-control', 'no-cache');
  return reply.send(Readable.from(source, { objectMode: false, highWaterMark: 1 }));
}
