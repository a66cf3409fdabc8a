/**
 * Ollama → Ollama: requests for an upstream Ollama's models pass through (the upstream's
 * status, headers and bytes come back byte for byte), so nothing a real Ollama says is lost.
 * Model management (pull, push, create, copy, delete, blobs) too. What goes up is exactly
 * what the gateway checked: the route it matched (no query string) and the JSON body it
 * parsed, serialised again, never the client's bytes (Go would read those differently). Blob
 * uploads stream through as they are. The client's gateway credentials are not forwarded.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OllamaAdapter, RawHeaders, RawTimeouts } from '../../adapters/ollama/index.js';
import type { BackendAdapter } from '../../adapters/adapter.js';
import type { CatalogEntry } from '../../core/model-catalog.js';
import { lookupKey } from '../../core/model-names.js';
import { fromMidStreamError } from '../../errors.js';
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

/** What goes upstream: the parsed JSON body (serialised again), a blob's bytes, or nothing. */
export type ForwardBody = { json: unknown } | { stream: Readable } | undefined;

export async function forwardToOllama(
  request: FastifyRequest,
  reply: FastifyReply,
  adapter: OllamaAdapter,
  body: ForwardBody,
  onFinished?: (statusCode: number) => void,
  timeouts?: RawTimeouts,
): Promise<FastifyReply> {
  const headers: RawHeaders = { ...request.headers };
  for (const name of CLIENT_CREDENTIALS) delete headers[name];
  let payload: Buffer | Readable | undefined;
  if (body !== undefined && 'json' in body) {
    const text = body.json === undefined ? undefined : JSON.stringify(body.json);
    payload = text === undefined ? undefined : Buffer.from(text, 'utf8');
    headers['content-type'] = 'application/json';
    delete headers['content-encoding'];
  } else {
    payload = body?.stream;
  }
  const upstream = await adapter.forwardRaw(request.method, upstreamPath(request), headers, payload, abortOnClientClose(reply), timeouts);
  reply.code(upstream.statusCode);
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && name !== 'date') reply.header(name, value);
  }
  if (onFinished !== undefined) reply.raw.once('finish', () => onFinished(upstream.statusCode));
  const streamed = upstream.statusCode === 200 && String(upstream.headers['content-type'] ?? '').startsWith('application/x-ndjson');
  return reply.send(streamed ? endingWithErrorLine(upstream.body) : upstream.body);
}

/**
 * The upstream's NDJSON as it comes; should the upstream break off (silent past the idle
 * timeout, a dropped connection), one `{"error": …}` line ends it, as Ollama ends a stream
 * that fails, instead of a cut connection.
 */
function endingWithErrorLine(body: Readable): Readable {
  const out = new PassThrough();
  let endsWithNewline = true;
  body.on('data', (chunk: Buffer) => {
    if (chunk.length > 0) endsWithNewline = chunk[chunk.length - 1] === 0x0a;
  });
  body.once('error', (error) => {
    body.unpipe(out);
    if (out.destroyed) return;
    const line = `${JSON.stringify({ error: fromMidStreamError('Ollama', error).message })}\n`;
    out.end(endsWithNewline ? line : `\n${line}`);
  });
  // The client went away: so does the upstream request.
  out.once('close', () => body.destroy());
  return body.pipe(out);
}

/**
 * The upload, failing with `tooLarge()` once more than `limit` bytes have come (a chunked
 * upload declares no length). The client's stream is only unpiped, not destroyed, so the
 * 413 can still be answered on its connection.
 */
export function limitedUpload(upload: Readable, limit: number, tooLarge: () => Error): Readable {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) callback(tooLarge());
      else callback(null, chunk);
    },
  });
  counter.once('error', () => upload.unpipe(counter));
  return upload.pipe(counter);
}

/** The route the gateway matched, with its parameters filled in. The query string is dropped: Ollama's API reads none. */
function upstreamPath(request: FastifyRequest): string {
  const params = request.params as Record<string, string | undefined>;
  return request.routeOptions.url!.replace(/:(\w+)/g, (_match, name: string) => encodeURIComponent(params[name] ?? '').replaceAll('%3A', ':'));
}
