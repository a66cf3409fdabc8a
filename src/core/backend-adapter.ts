/**
 * The contract every backend implements. Routes talk only to this interface, so a second
 * backend plugs in without touching them.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ChatRequest, ChatStream, EmbedRequest, EmbedResult, ModelInfo } from '../core/types.js';
import type { BodyPiece } from '../core/body-piece.js';

export interface CallContext {
  /** Fires when the client hangs up; aborts the upstream call. */
  signal: AbortSignal;
  log: FastifyBaseLogger;
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
