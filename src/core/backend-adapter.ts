/**
 * The ports between the gateway and its backends. The catalog and the front ends talk only
 * to these interfaces; each adapter under adapters/ implements them.
 */
import type { Readable } from 'node:stream';
import type { GatewayError } from '../errors.js';
import type { BodyPiece } from './body-piece.js';
import type { Log } from './log.js';
import type { ModelDefaults } from './models-config.js';
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
   * completions (OpenRouter). The backend builds what it sends from the client's request
   * (what its upstream may be sent of it is its own knowledge); `body.stream` decides between
   * SSE and one JSON object. Resolves once the upstream answered 2xx; a request it cannot
   * take, or any other status, rejects with a GatewayError (status mapped as for streamChat)
   * before a byte reaches the client. The caller owns the returned body: it must read it to
   * the end or release it. Backends without it are served through the IR (streamChat), which
   * the OpenAI front end also uses for everything it must translate.
   */
  forwardOpenAiChat?(request: OpenAiChatForward, context: CallContext): Promise<ForwardedResponse>;
  /** Closes the adapter's connection pool. */
  close(): Promise<void>;
}

/** A client's OpenAI chat request, for a backend that speaks OpenAI's chat dialect. */
export interface OpenAiChatForward {
  /** The client's body as the front end parsed and checked it (Ollama's `think`, which /v1 takes too, included). */
  body: Record<string, unknown>;
  /** The upstream id the client's `model` resolved to, checked against its key. */
  model: string;
  /** The upstream ids of the client's `models` fallback list, each resolved and checked. */
  fallbackModels?: readonly string[];
  /** The model's configured defaults, for what the client left unset. */
  defaults?: ModelDefaults;
  /** OpenRouter's `provider` object from the models config: sent as it is, over the client's own narrowing fields. */
  provider?: Readonly<Record<string, unknown>>;
}

/** The raw 2xx answer of a passthrough call, in OpenAI's chat dialect, as the /v1 relay reads it. */
export interface ForwardedResponse {
  /** The upstream's display name, for error messages ("OpenRouter"). */
  upstream: string;
  /** The response body as it arrives (see UpstreamBody). Read it to the end, or release it. */
  body: AsyncIterable<BodyPiece> & {
    /** completed: the answer's end was read (the rest is drained, the connection reused); else the request is aborted. */
    release(completed: boolean): void;
  };
  /** The error a JSON answer or stream event of this upstream stands for (its own error shapes), or undefined when it is none. */
  errorIn(payload: Record<string, unknown>): GatewayError | undefined;
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
