import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * The one place a generated stream is written to the client. The reply is taken over from
 * Fastify and the source is pumped straight into the socket: one `write` per upstream read,
 * the next piece pulled only when the socket has taken the last one (backpressure), no
 * intermediate Readable. When the client goes away the pump stops pulling and returns the
 * source, which runs the generators' `finally` blocks and so releases the upstream request.
 * Headers set on the reply before (CORS) are sent along.
 */
export function sendStream(reply: FastifyReply, contentType: string, source: AsyncIterable<string | Uint8Array>): FastifyReply {
  const response = reply.raw;
  reply.hijack();
  response.writeHead(200, { ...(reply.getHeaders() as Record<string, string | string[] | number>), 'content-type': contentType, 'cache-control': 'no-cache' });
  // Fastify still logs "request completed" when the response finishes.
  pump(response, source).catch((error: unknown) => {
    reply.log.warn({ err: error }, 'stream to the client failed');
    response.destroy();
  });
  return reply;
}

async function pump(response: ServerResponse, source: AsyncIterable<string | Uint8Array>): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (!response.destroyed) {
      const next = await iterator.next();
      if (next.done || response.destroyed) break;
      if (!response.write(next.value)) await drainedOrClosed(response);
    }
    if (!response.destroyed) response.end();
  } finally {
    await iterator.return?.();
  }
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
