/**
 * What both front ends do around an answer, whatever its dialect.
 */
import type { FastifyRequest } from 'fastify';
import type { CatalogEntry } from '../core/model-catalog.js';
import type { ChatEventBatch, ChatStream, Usage } from '../core/types.js';
import { GatewayError } from '../errors.js';

export interface StartedStream {
  first: ChatEventBatch;
  rest: AsyncIterator<ChatEventBatch>;
}

/**
 * Reads the upstream's first events before any header is sent, so that an error arriving
 * before the first token (OpenRouter commits its 200 early, then reports failures in-band)
 * is still answered with a real HTTP status, as Ollama and OpenAI answer it.
 */
export async function startStream(stream: ChatStream): Promise<StartedStream> {
  const rest = stream[Symbol.asyncIterator]();
  const first = await rest.next();
  if (first.done) throw new GatewayError('UPSTREAM_BAD_RESPONSE', 'the upstream ended the stream without answering');
  const firstEvent = first.value[0];
  if (firstEvent?.type === 'error') {
    await rest.return?.();
    throw firstEvent.error;
  }
  return { first: first.value, rest };
}

/** Counts an answer's tokens against the request's key (its tokens-per-minute limit). */
export function recordUsage(request: FastifyRequest, usage: Usage | undefined): void {
  if (usage === undefined) return;
  request.server.recordKeyUsage(request, (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0));
}

/**
 * Ollama's 400s, before paying for a round trip: thinking asked of a model without the
 * capability (`think` true or a level; `false` is always fine), chat with an embedding model,
 * tools for a model without tool support. `think` is Ollama's knob as the client sent it (on
 * /v1 too); OpenAI's `reasoning_effort` is not checked: OpenAI clients send it to any model.
 */
export function checkChatCapabilities(entry: CatalogEntry, requestedName: string, hasTools: boolean, think?: boolean | string | null): void {
  const capabilities = entry.info.capabilities;
  if (think !== undefined && think !== null && think !== false && think !== '' && !capabilities.includes('thinking')) {
    throw new GatewayError('BAD_REQUEST', `${JSON.stringify(requestedName)} does not support thinking`);
  }
  if (capabilities.includes('embedding') && !capabilities.includes('completion')) {
    throw new GatewayError('BAD_REQUEST', `"${requestedName}" does not support chat`);
  }
  if (hasTools && !capabilities.includes('tools')) throw new GatewayError('BAD_REQUEST', `${entry.name} does not support tools`);
}
