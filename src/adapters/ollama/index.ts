/**
 * The Ollama adapter: the only Ollama-backend file that does I/O. It wires the HTTP client
 * to the pure translators next to it, and offers a raw passthrough for native routes.
 * Ollama's statuses keep their meaning: a 401 (a cloud model while the server is signed out)
 * is Ollama's answer to pass on as it is, not the gateway's key refused.
 */
import { clientLeft } from '../../streaming/client-abort.js';
import { UpstreamClient } from '../../http/upstream-client.js';
import type { CallContext, OllamaAdapter, RawHeaders, RawResponse } from '../../core/backend-adapter.js';
import { usageFromOllama } from '../../core/ollama-answer.js';
import type { ChatRequest, ChatStream, EmbedRequest, EmbedResult, ModelInfo } from '../../core/types.js';
import { GatewayError, fromTransportError, upstreamErrorMessage } from '../../errors.js';
import { toOllamaChatBody, toOllamaEmbedBody } from './request.js';
import { decodeOllamaStream } from './stream.js';
import { modelNameOf, tagsEntriesOf, toModelInfos } from './models.js';
import { notAModelList, wrongUrlError } from '../model-list-url.js';

export const OLLAMA_BACKEND = 'ollama';
const UPSTREAM = 'Ollama';
const DEFAULT_SHOW_CONCURRENCY = 4;

export interface OllamaAdapterOptions {
  /** The upstream server, e.g. `http://127.0.0.1:11434` (a path prefix is kept). */
  baseUrl: string;
  connectTimeoutMs: number;
  /** Time to response headers: includes loading the model, which can take minutes. */
  headersTimeoutMs: number;
  /** Longest silence between two body chunks. 0 disables. */
  bodyTimeoutMs: number;
  /** How many `/api/show` calls run at once while listing. */
  showConcurrency?: number;
}

/** Connection-level headers (RFC 9110 §7.6.1): meaningful for one hop only, never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export function createOllamaAdapter(options: OllamaAdapterOptions): OllamaAdapter {
  const showConcurrency = Math.max(1, options.showConcurrency ?? DEFAULT_SHOW_CONCURRENCY);
  const client = new UpstreamClient({
    name: UPSTREAM,
    baseUrl: options.baseUrl,
    headers: { accept: 'application/json' },
    connectTimeoutMs: options.connectTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    statusError: fromOllamaStatus,
    // Ollama reports errors with a status, but a proxy in front of it may not.
    answerError: (parsed, text) => (parsed.error ? fromOllamaStatus(502, text) : undefined),
  });

  return {
    name: OLLAMA_BACKEND,

    async listModels(signal?: AbortSignal): Promise<ModelInfo[]> {
      // A URL that does not serve Ollama's list is a configuration error that says so.
      const endpoint = { upstreamName: UPSTREAM, baseUrl: options.baseUrl, path: '/api/tags', setting: '--ollama-url (OLLAMA_BASE_URL)', example: 'http://127.0.0.1:11435' };
      let tags: unknown;
      try {
        tags = await client.json('GET', '/api/tags', undefined, signal);
      } catch (error) {
        throw wrongUrlError(endpoint, error) ?? error;
      }
      const entries = tagsEntriesOf(tags);
      if (entries === undefined) throw notAModelList(endpoint, 'answered JSON without a "models" list');
      const names = entries.map(modelNameOf).filter((name): name is string => name !== undefined);
      const shows = new Map<string, unknown>();
      await forEachLimited(names, showConcurrency, async (name) => {
        try {
          shows.set(name, await client.json('POST', '/api/show', { model: name }, signal));
        } catch {
          // One broken model (a removed blob, an unreachable cloud stub) must not hide the
          // others: it is listed from its tags entry alone.
        }
      });
      // A show cut short by the caller's abort is not a broken model: do not return a partial list.
      if (signal?.aborted) throw fromTransportError(UPSTREAM, signal.reason);
      return toModelInfos(entries, shows, OLLAMA_BACKEND).models;
    },

    async streamChat(chatRequest: ChatRequest, context: CallContext): Promise<ChatStream> {
      // Translating first: a request Ollama cannot take fails before any I/O.
      const payload = toOllamaChatBody(chatRequest);
      const body = await client.openStream('/api/chat', payload, context.signal);
      // A client hang-up before the first pull is covered by the abort signal.
      return decodeOllamaStream(body, () => clientLeft(context.signal), (completed) => body.release(completed), context.onOrigin);
    },

    async embed(embedRequest: EmbedRequest, context: CallContext): Promise<EmbedResult> {
      const answer = await client.json('POST', '/api/embed', toOllamaEmbedBody(embedRequest), context.signal);
      const { embeddings, model } = (answer ?? {}) as { embeddings?: unknown; model?: unknown };
      if (!Array.isArray(embeddings) || !embeddings.every(Array.isArray)) {
        throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${UPSTREAM} sent an embeddings answer without vectors`);
      }
      const result: EmbedResult = { embeddings: embeddings as number[][] };
      const usage = usageFromOllama(answer as Record<string, unknown>);
      if (usage !== undefined) result.usage = usage;
      if (typeof model === 'string') context.onOrigin?.({ modelServed: model });
      return result;
    },

    async forwardRaw(method, path, headers, body, signal, timeouts = {}): Promise<RawResponse> {
      // A path without its leading slash would be glued to the host part of the base URL.
      if (!path.startsWith('/')) throw new GatewayError('INTERNAL', `forwardRaw needs an absolute path, got ${JSON.stringify(path)}`);
      const response = await client.forward(method, path, forwardableRequestHeaders(headers), body, signal, timeouts);
      return { statusCode: response.statusCode, headers: withoutHopByHop(response.headers), body: response.body };
    },

    close: () => client.close(),
  };
}

/**
 * An Ollama error status → GatewayError with that status and Ollama's own message. A 404 about
 * a model becomes MODEL_NOT_FOUND (OpenAI clients then see `model_not_found`); 401 and 403
 * stay what Ollama said, not a refused gateway key.
 */
export function fromOllamaStatus(status: number, body: string, retryAfter?: string): GatewayError {
  const message = upstreamErrorMessage(body, `${UPSTREAM} answered HTTP ${status}`);
  const statusCode = status >= 400 && status <= 599 ? status : 502;
  const code = statusCode === 404 && /model\b.*\bnot found/i.test(message) ? 'MODEL_NOT_FOUND' : 'UPSTREAM_ERROR';
  return new GatewayError(code, message, { statusCode, retryAfter });
}

/** Client headers minus hop-by-hop ones, `host` (the upstream's own) and `content-length` (undici sets it from the body). */
function forwardableRequestHeaders(headers: RawHeaders): Record<string, string | string[]> {
  const forwarded = withoutHopByHop(headers);
  delete forwarded.host;
  delete forwarded['content-length'];
  // undici refuses `expect`; the body is sent in one piece anyway.
  delete forwarded.expect;
  return forwarded as Record<string, string | string[]>;
}

function withoutHopByHop(headers: RawHeaders): RawHeaders {
  // `Connection` may name further headers that are hop-by-hop for this connection.
  const connection = headers.connection;
  const named = new Set(
    (Array.isArray(connection) ? connection.join(',') : connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const result: RawHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    result[lower] = value;
  }
  return result;
}

/** Runs `task` over `items` with at most `limit` running at once. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
