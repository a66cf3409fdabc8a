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
import { isOllamaAdapter, type OllamaAdapter, type RawHeaders, type RawResponse, type RawTimeouts } from '../../core/backend-adapter.js';
import type { CatalogEntry } from '../../core/model-catalog.js';
import { lookupKey } from '../../core/model-names.js';
import { GatewayError, fromMidStreamError, upstreamErrorMessage } from '../../errors.js';
import { isRetryableStatus } from '../../core/upstream-tries.js';
import { readBodyText } from '../../http/read-body.js';
import { abortOnClientClose } from '../../streaming/client-abort.js';
import { usageFromOllama } from '../../core/ollama-answer.js';
import type { RequestUsage } from '../../usage/request-usage.js';
import { firstStringField } from '../json-field.js';

const CLIENT_CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'cookie'];

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
  /** The request's spend: the counts of Ollama's last object, else one token per line relayed; who answered, how it ended. */
  usage?: RequestUsage;
  /** The answer is generated text (chat, generate): its first piece relayed is the first token. */
  generates?: boolean;
  /** Another try follows should this one fail: a retryable error status is thrown (a GatewayError), not relayed. */
  retryableStatusThrows?: boolean;
}

export async function forwardToOllama(
  request: FastifyRequest,
  reply: FastifyReply,
  adapter: OllamaAdapter,
  body: ForwardBody,
  options: ForwardOptions = {},
): Promise<FastifyReply> {
  const { onFinished, timeouts, usage, generates = false, retryableStatusThrows = false } = options;
  request.usage.servedBy(adapter.name);
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
  let upstream = await adapter.forwardRaw(request.method, upstreamPath(request), headers, payload, abortOnClientClose(reply), timeouts);
  if (retryableStatusThrows) {
    if (isRetryableStatus(upstream.statusCode)) throw await statusError(upstream);
    if (isNdjson(upstream)) upstream = { ...upstream, body: await unlessErrorFirst(upstream.body) };
  }
  reply.code(upstream.statusCode);
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && name !== 'date') reply.header(name, value);
  }
  if (onFinished !== undefined) reply.raw.once('finish', () => onFinished(upstream.statusCode));
  if (upstream.statusCode >= 400) request.usage.failed('UPSTREAM_ERROR');
  const metered = usage !== undefined && upstream.statusCode >= 200 && upstream.statusCode < 300;
  // A listener starts the body flowing at the next tick: it is piped before then, in this tick.
  if (metered) meterOllamaAnswer(upstream.body, usage, generates);
  const streamed = isNdjson(upstream);
  if (streamed) reply.server.activeStreams.track(reply.raw);
  return reply.send(streamed ? endingWithErrorLine(upstream.body, request.usage) : metered ? pipedAsIs(upstream.body) : upstream.body);
}

/** A retryable error status as the error it stands for, Ollama's message and Retry-After kept (the body is read, at most 64 KB). */
async function statusError(upstream: RawResponse): Promise<GatewayError> {
  const text = await readBodyText(upstream.body, 'Ollama', ERROR_BODY_LIMIT).catch(() => '');
  const retryAfter = upstream.headers['retry-after'];
  return new GatewayError('UPSTREAM_ERROR', upstreamErrorMessage(text, `Ollama answered HTTP ${upstream.statusCode}`), {
    statusCode: upstream.statusCode,
    ...(typeof retryAfter === 'string' ? { retryAfter } : {}),
  });
}

const ERROR_BODY_LIMIT = 64 * 1024;

function isNdjson(upstream: RawResponse): boolean {
  return upstream.statusCode === 200 && String(upstream.headers['content-type'] ?? '').startsWith('application/x-ndjson');
}

/**
 * A stream whose first line is Ollama's `{"error": …}` failed before its first token: that
 * error is thrown, with the status Ollama gives the same failure unstreamed (500), so that a
 * fallback may follow. Otherwise the same bytes, the first read then the rest as they come.
 */
async function unlessErrorFirst(body: Readable): Promise<Readable> {
  const first = await firstRead(body);
  if (first !== undefined && first.subarray(0, ERROR_LINE_START.length).equals(ERROR_LINE_START)) {
    const rest = await readBodyText(body, 'Ollama', ERROR_BODY_LIMIT).catch(() => '');
    const line = (first.toString('utf8') + rest).split('\n', 1)[0]!;
    throw new GatewayError('UPSTREAM_ERROR', upstreamErrorMessage(line, 'Ollama reported an error'), { statusCode: 500 });
  }
  const out = new PassThrough();
  if (first === undefined) return out.end();
  out.write(first);
  body.once('error', (error) => out.destroy(error));
  out.once('close', () => body.destroy());
  return body.pipe(out);
}

const ERROR_LINE_START = Buffer.from('{"error"');

/** The body's first read (undefined when it ends first); the body is left paused. */
function firstRead(body: Readable): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = body.read() as Buffer | null;
      if (chunk === null) return;
      done();
      resolve(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      done();
      reject(fromMidStreamError('Ollama', error));
    };
    body.on('readable', onReadable);
    body.once('end', onEnd);
    body.once('error', onError);
  });
}

/**
 * The upstream's NDJSON, line by line as it comes (complete lines only, byte for byte). A line
 * that is not a JSON object (checked by its first and last bytes, as the /v1 relay checks its
 * events), or an upstream that breaks off (silent past the idle timeout, a dropped
 * connection), ends the stream with one `{"error": …}` line, as Ollama ends a stream that
 * fails, instead of passing garbage on or cutting the connection.
 */
function endingWithErrorLine(body: Readable, usage: RequestUsage): Readable {
  let pending: Buffer[] = [];
  let ended = false;
  /** Why the upstream broke off: the error line the stream ends with. */
  let failure: string | undefined;
  const errorLine = (message: string): string => `${JSON.stringify({ error: message })}\n`;
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (ended) return callback();
      let lineStart = 0;
      let cut = 0;
      for (let newline = chunk.indexOf(LINE_FEED); newline !== -1; newline = chunk.indexOf(LINE_FEED, lineStart)) {
        const line = pending.length === 0 ? chunk.subarray(lineStart, newline) : Buffer.concat([...pending, chunk.subarray(lineStart, newline)]);
        if (!isJsonObjectLine(line)) {
          ended = true;
          usage.failed('UPSTREAM_BAD_RESPONSE');
          body.unpipe(out);
          body.destroy();
          pending = [];
          this.push(Buffer.concat([chunk.subarray(cut, lineStart), Buffer.from(errorLine('Ollama sent an unreadable stream line'))]));
          this.push(null);
          return callback();
        }
        if (pending.length > 0) {
          // The line began in earlier reads: send it whole now.
          this.push(Buffer.concat([line, NEWLINE]));
          pending = [];
          cut = newline + 1;
        }
        lineStart = newline + 1;
      }
      if (lineStart > cut) this.push(chunk.subarray(cut, lineStart));
      if (lineStart < chunk.length) pending.push(Buffer.from(chunk.subarray(lineStart)));
      callback();
    },
    flush(callback) {
      if (failure !== undefined) {
        this.push(errorLine(failure));
        return callback();
      }
      if (!ended && pending.length > 0) {
        const line = Buffer.concat(pending);
        if (isJsonObjectLine(line)) {
          this.push(line);
        } else {
          usage.failed('UPSTREAM_BAD_RESPONSE');
          this.push(Buffer.from(`\n${errorLine('Ollama sent an unreadable stream line')}`));
        }
      }
      callback();
    },
  });
  body.once('error', (error) => {
    body.unpipe(out);
    if (out.destroyed || ended) return;
    ended = true;
    // What was held back is an unfinished line: it is dropped, the error line takes its place.
    pending = [];
    const gatewayError = fromMidStreamError('Ollama', error);
    usage.failed(gatewayError.code);
    failure = gatewayError.message;
    out.end();
  });
  // The client went away: so does the upstream request.
  out.once('close', () => body.destroy());
  return body.pipe(out);
}

const NEWLINE = Buffer.from('\n');

/** A blank line, or one whose first and last non-blank bytes are `{` and `}`. */
function isJsonObjectLine(line: Buffer): boolean {
  let start = 0;
  let end = line.length;
  while (start < end && isBlank(line[start]!)) start++;
  while (end > start && isBlank(line[end - 1]!)) end--;
  return start === end || (line[start] === 0x7b && line[end - 1] === 0x7d);
}

function isBlank(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0d;
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
const DONE_REASON = /"done_reason":"(\w+)"/;
const MODEL_FIELD = Buffer.from('"model":"');

/**
 * Reads the spend off an Ollama answer as it streams by, without touching its bytes: who
 * answered (the first line's `model`), the lines relayed (about a token each, for the estimate
 * should it be cut off), and at its end the `prompt_eval_count` / `eval_count`, the
 * `done_reason`, or the `{"error": …}` line Ollama ends a failed stream with.
 */
function meterOllamaAnswer(body: Readable, usage: RequestUsage, generates: boolean): void {
  usage.upstreamAccepted();
  // The last reads, just enough to hold TAIL_BYTES: kept by reference, joined once at the end.
  const recent: Buffer[] = [];
  let recentBytes = 0;
  body.on('data', (chunk: Buffer) => {
    if (recentBytes === 0) {
      const model = firstStringField(chunk, MODEL_FIELD);
      if (model !== undefined) usage.answeredBy({ modelServed: model });
      if (generates) usage.answerStarted();
    }
    let lines = 0;
    for (let index = chunk.indexOf(LINE_FEED); index !== -1; index = chunk.indexOf(LINE_FEED, index + 1)) lines++;
    usage.addOutputPieces(lines);
    recent.push(chunk);
    recentBytes += chunk.length;
    while (recentBytes - recent[0]!.length >= TAIL_BYTES) recentBytes -= recent.shift()!.length;
  });
  body.once('end', () => {
    const counts: Record<string, number> = {};
    const tail = Buffer.concat(recent).subarray(-TAIL_BYTES).toString('utf8');
    for (const match of tail.matchAll(COUNT_FIELDS)) counts[match[1]!] = Number(match[2]);
    const reported = usageFromOllama(counts);
    if (reported !== undefined) usage.report(reported);
    const lastLine = tail.trimEnd().slice(tail.trimEnd().lastIndexOf('\n') + 1);
    if (lastLine.startsWith('{"error"')) {
      usage.failed('UPSTREAM_ERROR');
      return;
    }
    const doneReason = DONE_REASON.exec(lastLine)?.[1];
    if (doneReason !== undefined) usage.finished(doneReason === 'length' ? 'length' : 'stop');
  });
}
