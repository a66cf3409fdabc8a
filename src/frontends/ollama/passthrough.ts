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
import type { Usage } from '../../core/types.js';
import type { RequestUsage } from '../../usage/request-usage.js';

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

export interface ForwardOptions {
  /** Told the upstream's status once the answer has been sent. */
  onFinished?: (statusCode: number) => void;
  timeouts?: RawTimeouts;
  /** The request's spend: the counts of Ollama's last object, else one token per line relayed. */
  usage?: RequestUsage;
}

export async function forwardToOllama(
  request: FastifyRequest,
  reply: FastifyReply,
  adapter: OllamaAdapter,
  body: ForwardBody,
  options: ForwardOptions = {},
): Promise<FastifyReply> {
  const { onFinished, timeouts, usage } = options;
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
  const metered = usage !== undefined && upstream.statusCode >= 200 && upstream.statusCode < 300;
  // A listener starts the body flowing at the next tick: it is piped before then, in this tick.
  if (metered) meterOllamaAnswer(upstream.body, usage);
  const streamed = upstream.statusCode === 200 && String(upstream.headers['content-type'] ?? '').startsWith('application/x-ndjson');
  return reply.send(streamed ? endingWithErrorLine(upstream.body) : metered ? pipedAsIs(upstream.body) : upstream.body);
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

/** The body through a PassThrough (a metered one flows from the next tick, before Fastify would pipe it). */
function pipedAsIs(body: Readable): Readable {
  const out = new PassThrough();
  body.once('error', (error) => out.destroy(error));
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

const LINE_FEED = 0x0a;
/** Ollama writes its counts at the end of an answer's last object; this much of the end is kept to read them. */
const TAIL_BYTES = 2048;
const COUNT_FIELDS = /"(prompt_eval_count|eval_count)":(\d+)/g;

/**
 * Reads the spend off an Ollama answer as it streams by, without touching its bytes: the
 * lines relayed (about a token each, for the estimate should it be cut off), and the
 * `prompt_eval_count` / `eval_count` at its end.
 */
function meterOllamaAnswer(body: Readable, usage: RequestUsage): void {
  usage.upstreamAccepted();
  let tail: Buffer = Buffer.alloc(0);
  body.on('data', (chunk: Buffer) => {
    let lines = 0;
    for (let index = chunk.indexOf(LINE_FEED); index !== -1; index = chunk.indexOf(LINE_FEED, index + 1)) lines++;
    usage.addOutputPieces(lines);
    tail = chunk.length >= TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : Buffer.concat([tail, chunk]).subarray(-TAIL_BYTES);
  });
  body.once('end', () => {
    const counts: Record<string, number> = {};
    for (const match of tail.toString('utf8').matchAll(COUNT_FIELDS)) counts[match[1]!] = Number(match[2]);
    const reported: Usage = {};
    if (counts.prompt_eval_count !== undefined) reported.inputTokens = counts.prompt_eval_count;
    if (counts.eval_count !== undefined) reported.outputTokens = counts.eval_count;
    if (reported.inputTokens !== undefined || reported.outputTokens !== undefined) usage.report(reported);
  });
}
