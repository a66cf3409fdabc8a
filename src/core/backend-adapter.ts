/**
 * The ports between the gateway and its backends. The catalog and the front ends talk only
 * to these interfaces; each adapter under adapters/ implements them.
 */
import type { Readable } from 'node:stream';
import type { BodyPiece } from './body-piece.js';
import type { Log } from './log.js';
import type { AnswerOrigin, ChatRequest, ChatStream, EmbedRequest, EmbedResult, ModelInfo } from './types.js';

export interface CallContext {
  /** Fires when the client hangs up; aborts the upstream call. */
  signal: AbortSignal;
  log: Log;
  /** Told once who answers (the model, the generation id), as soon as the upstream names it. */
  onOrigin?: (origin: AnswerOrigin) => void;
}

export interface BackendAdapter {
  readonly name: string;
  /** Every model this backend serves (fetched, not cached: the catalog caches). */
  listModels(signal?: AbortSignal): Promise<ModelInfo[]>;
  /**
   * Sends the chat upstream. Resolves once the upstream accepted it (2xx); rejects with a
   * GatewayError before any byte reaches the client. Errors after that are `error` events.
   */
  streamChat(request: ChatRequest, context: CallContext): Promise<ChatStream>;
  embed(request: EmbedRequest, context: CallContext): Promise<EmbedResult>;
  /**
   * Optional same-dialect passthrough, for backends whose wire format is OpenAI's chat
   * completions (OpenRouter). `body` is the client's OpenAI request, with `model` already
   * resolved to this backend's id and gateway-only fields removed; it is sent as is, and
   * `body.stream` decides between SSE and one JSON object. Resolves once the upstream
   * answered 2xx; any other status rejects with a GatewayError (status mapped as for
   * streamChat) before a byte reaches the client. The caller owns the returned body: it
   * must read it to the end or destroy it. Backends without it are served through the IR
   * (streamChat), which the OpenAI front end also uses for everything it must translate.
   */
  forwardOpenAiChat?(body: Record<string, unknown>, context: CallContext): Promise<ForwardedResponse>;
  /** Closes the adapter's connection pool. */
  close(): Promise<void>;
}

/** The raw 2xx answer of a passthrough call. */
export interface ForwardedResponse {
  /** The upstream's display name, for error messages ("OpenRouter"). */
  upstream: string;
  /** The response body as it arrives (see UpstreamBody). Read it to the end, or release it. */
  body: AsyncIterable<BodyPiece> & { release(completed: boolean): void };
}

export type RawHeaders = Record<string, string | string[] | undefined>;

export interface RawResponse {
  statusCode: number;
  /** The upstream's headers without hop-by-hop ones (the gateway frames its own answer). */
  headers: RawHeaders;
  /** The upstream body, byte for byte. The caller must consume or destroy it. */
  body: Readable;
}

/** Per-call timeouts for the passthrough: a non-stream pull or create answers only when done. */
export interface RawTimeouts {
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** A backend that is an Ollama server: native routes pass through to it as they are. */
export interface OllamaAdapter extends BackendAdapter {
  /**
   * Sends a request to the upstream as it is and returns whatever Ollama answered, any status
   * included. Only transport failures throw (GatewayError). `path` includes the query string.
   */
  forwardRaw(method: string, path: string, headers: RawHeaders, body: Buffer | Readable | undefined, signal?: AbortSignal, timeouts?: RawTimeouts): Promise<RawResponse>;
}

export function isOllamaAdapter(adapter: BackendAdapter): adapter is OllamaAdapter {
  return typeof (adapter as Partial<OllamaAdapter>).forwardRaw === 'function';
}
