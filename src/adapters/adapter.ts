/**
 * The contract every backend implements. Routes talk only to this interface, so a second
 * backend plugs in without touching them.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ChatRequest, ChatStream, EmbedRequest, EmbedResult, ModelInfo } from '../core/types.js';

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
  /** Closes the adapter's connection pool. */
  close(): Promise<void>;
}
