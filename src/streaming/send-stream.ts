import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { ChatEventBatch } from '../core/types.js';
import { ChunkWriter } from './chunk-writer.js';
import { writeEncodedStream, type Heartbeat, type StreamEncoder, type TextSink } from './encode-stream.js';

/**
 * The two places a stream is written to the client. The reply is taken over from Fastify and
 * written straight to the socket: one `write` per upstream read, the next piece pulled only
 * when the socket has taken the last one (backpressure), no intermediate Readable. When the
 * client goes away the writer stops pulling and returns the source, which releases the
 * upstream request. Headers set on the reply before (CORS) are sent along.
 */

/** A translated answer: the first batch (read before any header) and the rest, encoded as they come. */
export function sendEncodedStream(
  reply: FastifyReply,
  contentType: string,
  first: ChatEventBatch,
  rest: AsyncIterator<ChatEventBatch>,
  encoder: StreamEncoder,
  heartbeat?: Heartbeat,
): FastifyReply {
  const response = takeOver(reply, contentType);
  writeEncodedStream(responseSink(response), first, rest, encoder, heartbeat).catch((error: unknown) => failed(reply, response, error));
  return reply;
}

/** Already-encoded pieces (the passthrough relay). */
export function sendStream(reply: FastifyReply, contentType: string, source: AsyncIterable<string | Uint8Array>): FastifyReply {
  const response = takeOver(reply, contentType);
  pump(response, source).catch((error: unknown) => failed(reply, response, error));
  return reply;
}

function takeOver(reply: FastifyReply, contentType: string): ServerResponse {
  const response = reply.raw;
  reply.hijack();
  response.writeHead(200, { ...(reply.getHeaders() as Record<string, string | string[] | number>), 'content-type': contentType, 'cache-control': 'no-cache' });
  reply.server.activeStreams.track(response);
  // The request's record and log line still come when the response closes (usage/request-records.ts).
  return response;
}

function failed(reply: FastifyReply, response: ServerResponse, error: unknown): void {
  reply.log.warn({ err: error }, 'stream to the client failed');
  response.destroy();
}

/**
 * The client is gone: the response is destroyed, or its socket's write side has ended (the
 * client's FIN makes Node's server end it at once; `close` comes later). A write then would
 * only fail.
 */
function clientGone(response: ServerResponse): boolean {
  return response.destroyed || response.socket?.writableEnded === true;
}

function responseSink(response: ServerResponse): TextSink {
  const writer = new ChunkWriter(response);
  return {
    get closed() {
      return clientGone(response);
    },
    write: (text) => writer.write(text),
    drained: () => writer.drained(),
    end: (text) => writer.end(text),
  };
}

async function pump(response: ServerResponse, source: AsyncIterable<string | Uint8Array>): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  const writer = new ChunkWriter(response);
  try {
    while (!clientGone(response)) {
      const next = await iterator.next();
      if (next.done || clientGone(response)) break;
      if (!writer.write(next.value)) await writer.drained();
    }
    if (!clientGone(response)) writer.end();
  } finally {
    await iterator.return?.();
  }
}
