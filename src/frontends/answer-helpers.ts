/**
 * What both front ends do around an answer, whatever its dialect.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CatalogEntry, ModelCatalog } from '../core/model-catalog.js';
import type { ChatEventBatch, ChatRequest, ChatStream } from '../core/types.js';
import { keepAliveMilliseconds } from './keep-alive.js';
import { GatewayError } from '../errors.js';
import type { StreamEncoder } from '../streaming/encode-stream.js';
import type { CallContext } from '../core/backend-adapter.js';
import type { RequestUsage } from '../usage/request-usage.js';
import { openWithFallbacks } from './upstream-tries.js';

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

/**
 * The request's usage (opened on first use, timed from the request's arrival: usage/request-records.ts), noted as going to
 * this catalog entry: its backend, its model, its price (the models config's, else the
 * backend's). Every route that calls an upstream meters itself here as soon as it knows the
 * model, whatever path its answer then takes; the spend counts against the key's tokens per
 * minute, and goes into the request's record, when the response closes.
 */
export function meterRequest(request: FastifyRequest, entry: CatalogEntry): RequestUsage {
  const usage = request.usage;
  usage.servedBy(entry.adapter.name, entry.info.id, entry.price ?? entry.info.price);
  return usage;
}

/**
 * The call's context: the client's hang-up aborts it, and the upstream's word on who answers
 * goes into the request's usage.
 */
export function callContext(request: FastifyRequest, signal: AbortSignal): CallContext {
  const usage = request.usage;
  return { signal, log: request.log, onOrigin: (origin) => usage.answeredBy(origin) };
}

/** The encoder, also noting the answer it encodes (the estimate should it be cut off, the first token, how it ended). */
export function meteredEncoder(encoder: StreamEncoder, usage: RequestUsage): StreamEncoder {
  return {
    get ended() {
      return encoder.ended;
    },
    encode(batch) {
      usage.addBatch(batch);
      return encoder.encode(batch);
    },
    encodeError(error) {
      usage.failed(error.code);
      return encoder.encodeError(error);
    },
  };
}

/** The stream, noting the answer as it is read (non-stream answers, collected before anything is sent). */
export async function* meteredStream(stream: ChatStream, usage: RequestUsage): ChatStream {
  for await (const batch of stream) {
    usage.addBatch(batch);
    yield batch;
  }
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

/**
 * One try of a chat through the IR on one model: its OpenRouter routing added, the request
 * sent (`onAccepted` told once its upstream has accepted it), the answer's first events read
 * (an error before the first token is thrown, so a fallback may follow), the model marked used.
 */
export async function openIrChat(request: FastifyRequest, catalog: ModelCatalog, entry: CatalogEntry, chatRequest: ChatRequest, signal: AbortSignal, keepAliveMs: number, onAccepted?: () => void): Promise<StartedStream> {
  if (entry.routing?.provider !== undefined) chatRequest.provider = entry.routing.provider;
  const chatStream = await entry.adapter.streamChat(chatRequest, callContext(request, signal));
  request.usage.upstreamAccepted();
  onAccepted?.();
  const started = await startStream(chatStream);
  catalog.markUsed(entry, keepAliveMs, request.apiKey?.id);
  return started;
}

/** A started stream read again from its first batch (for answers collected into one object). */
export async function* replayed(started: StartedStream): ChatStream {
  let done = false;
  try {
    yield started.first;
    for (let next = await started.rest.next(); !next.done; next = await started.rest.next()) yield next.value;
    done = true;
  } finally {
    if (!done) await started.rest.return?.();
  }
}

/**
 * The upstream call of a chat from a front end whose clients send reasoning to any model
 * (Anthropic's `thinking`, the Responses API's `reasoning`), with the model's retries and
 * fallbacks: each model's capabilities checked, reasoning it cannot do dropped (not a 400),
 * the call started on the first that answers.
 */
export async function openChatAnyReasoning(request: FastifyRequest, reply: FastifyReply, catalog: ModelCatalog, entry: CatalogEntry, requestedName: string, buildRequest: (entry: CatalogEntry) => ChatRequest): Promise<StartedStream> {
  const primaryRequest = buildRequest(entry);
  const hasTools = primaryRequest.tools !== undefined;
  checkChatCapabilities(entry, requestedName, hasTools);
  const { result } = await openWithFallbacks(request, reply, catalog, entry, {
    requestedName,
    accepts: (candidate) => checkChatCapabilities(candidate, candidate.name, hasTools),
    attempt: (candidate, signal) => {
      const chatRequest = candidate === entry ? primaryRequest : buildRequest(candidate);
      if (chatRequest.reasoning?.enabled === true && !candidate.info.capabilities.includes('thinking')) delete chatRequest.reasoning;
      return openIrChat(request, catalog, candidate, chatRequest, signal, keepAliveMilliseconds(undefined));
    },
  });
  return result;
}
