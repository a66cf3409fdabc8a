/**
 * Ollama → Ollama: requests for an upstream Ollama's models pass through byte for byte
 * (same path, same body, the upstream's status, headers and bytes back), so nothing a real
 * Ollama says is lost. Model management (pull, push, create, copy, delete, blobs) too.
 * The client's gateway credentials are not forwarded.
 */
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OllamaAdapter, RawHeaders } from '../../adapters/ollama/index.js';
import type { BackendAdapter } from '../../adapters/adapter.js';
import type { CatalogEntry } from '../../core/model-catalog.js';
import { lookupKey } from '../../core/model-names.js';
import { abortOnClientClose } from '../../streaming/client-abort.js';

const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'cookie'];

export function isOllamaAdapter(adapter: BackendAdapter): adapter is OllamaAdapter {
  return typeof (adapter as Partial<OllamaAdapter>).forwardRaw === 'function';
}

/**
 * Byte-for-byte passthrough is possible when the upstream would see exactly what the client
 * sent: the name is the upstream's own (`:latest` implied), and no configured override has
 * to be applied. Aliases, short names and overrides go through the translating path instead.
 */
export function canPassThrough(entry: CatalogEntry, requestedName: string): boolean {
  return isOllamaAdapter(entry.adapter) && entry.defaults === undefined && entry.alias === undefined && lookupKey(requestedName) === lookupKey(entry.info.id);
}

export async function forwardToOllama(
  request: FastifyRequest,
  reply: FastifyReply,
  adapter: OllamaAdapter,
  body: Buffer | Readable | undefined,
  onFinished?: (statusCode: number) => void,
): Promise<FastifyReply> {
  const headers: RawHeaders = { ...request.headers };
  for (const name of CLIENT_CREDENTIALS) delete headers[name];
  const path = request.url;
  const upstream = await adapter.forwardRaw(request.method, path, headers, body, abortOnClientClose(reply));
  reply.code(upstream.statusCode);
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && name !== 'date') reply.header(name, value);
  }
  if (onFinished !== undefined) reply.raw.once('finish', () => onFinished(upstream.statusCode));
  return reply.send(upstream.body);
}
