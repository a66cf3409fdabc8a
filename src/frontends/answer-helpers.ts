/**
 * What both front ends do around an answer, whatever its dialect.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CatalogEntry } from '../core/model-catalog.js';
import type { ChatEventBatch, ChatStream } from '../core/types.js';
import { GatewayError } from '../errors.js';
import type { StreamEncoder } from '../streaming/encode-stream.js';
import { RequestUsage, estimatePromptTokens } from '../usage/request-usage.js';

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
 * The request's spend upstream, counted against its key's (or address's) tokens-per-minute
 * when the response closes: finished, failed or cut off by the client. Every route that calls
 * an upstream meters itself here, whatever path its answer takes.
 */
export function meterRequest(request: FastifyRequest, reply: FastifyReply): RequestUsage {
  const usage = new RequestUsage(
    () => estimatePromptTokens(request.body),
    (spent) => request.server.recordKeyUsage(request, spent.inputTokens + spent.outputTokens),
  );
  reply.raw.once('close', () => usage.settle());
  return usage;
}

/** Characters of answer in a batch: text, reasoning and tool-call arguments. */
export function answerCharacters(batch: ChatEventBatch): number {
  let characters = 0;
  for (const event of batch) {
    if (event.type === 'text-delta' || event.type === 'reasoning-delta') characters += event.text.length;
    else if (event.type === 'tool-call') characters += event.call.name.length + event.call.arguments.length;
  }
  return characters;
}

/** The encoder, also counting the answer it encodes (the estimate, should the answer be cut off before its usage). */
export function meteredEncoder(encoder: StreamEncoder, usage: RequestUsage): StreamEncoder {
  return {
    get ended() {
      return encoder.ended;
    },
    encode(batch) {
      usage.addOutputText(answerCharacters(batch));
      return encoder.encode(batch);
    },
    encodeError: (error) => encoder.encodeError(error),
  };
}

/** The stream, counting the answer as it is read (non-stream answers, collected before anything is sent). */
export async function* meteredStream(stream: ChatStream, usage: RequestUsage): ChatStream {
  for await (const batch of stream) {
    usage.addOutputText(answerCharacters(batch));
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
