/**
 * The OpenAI-compatible API (/v1/*) on top of the model catalog and the backend adapters,
 * registered with `prefix: '/v1'`. Errors in OpenAI's dialect:
 * `{"error": {"message", "type", "param", "code"}}` with the right status, also for unknown
 * /v1 routes; after the first byte of a stream, one in-band `data: {"error": …}` event.
 *
 * Chat completions take one of two paths:
 * - passthrough, when the resolved backend speaks this dialect (`adapter.forwardOpenAiChat`):
 *   the client's body goes to the backend with every model it names (`model`, each of
 *   `models`) resolved and checked against the key, the backend sends what its upstream may
 *   be sent of it, and the upstream's bytes come back unchanged except where they must be
 *   translated (relay/);
 * - the IR otherwise: OpenAI request → ChatRequest → `adapter.streamChat()` → OpenAI SSE or
 *   one `chat.completion` object (translate.ts, encode.ts).
 * Legacy completions always use the IR.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OpenAiChatRequest, OpenAiCompletionRequest, OpenAiEmbeddingsRequest } from '#schemas/openai.js';
import type { Config } from '#schemas/config.js';
import { assertModelAccess, mayUseModel } from '../../auth/access-control.js';
import type { CallContext } from '../../core/backend-adapter.js';
import { collectChat } from '../../core/collect.js';
import { callContext, checkChatCapabilities, meterRequest, meteredEncoder, meteredStream, startStream } from '../answer-helpers.js';
import { normalizeEmbedding } from '../../core/embeddings.js';
import type { CatalogEntry, CatalogSnapshot, ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import { toReasoning } from '../../core/reasoning.js';
import type { ChatRequest, ChatResult, ChatStream } from '../../core/types.js';
import { GatewayError, toOpenAiErrorBody } from '../../errors.js';
import { readBodyText } from '../../http/read-body.js';
import { listingCache, parseBody, sendGatewayError, toGatewayError } from '../../http/request-errors.js';
import { abortOnClientClose, clientLeft } from '../../streaming/client-abort.js';
import { sendEncodedStream, sendStream } from '../../streaming/send-stream.js';
import { keepAliveMilliseconds } from '../keep-alive.js';
import {
  OpenAiChatStreamEncoder,
  OpenAiCompletionStreamEncoder,
  chatCompletionObject,
  completionObject,
  newChatCompletionMeta,
  newCompletionMeta,
  type OpenAiSseEncoder,
} from './encode.js';
import { modelListBody, modelObject } from './models.js';
import { relayJson } from './relay/json-answer.js';
import { startSseRelay } from './relay/start-relay.js';
import {
  chatRequestFromCompletion,
  chatRequestFromOpenAi,
  embeddingsEncoding,
  embeddingsInput,
  toBase64Embedding,
} from './translate.js';

export interface OpenAiFrontendOptions {
  catalog: ModelCatalog;
  config: Config;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const SSE_TYPE = 'text/event-stream';

export async function openAiFrontend(app: FastifyInstance, options: OpenAiFrontendOptions): Promise<void> {
  const { catalog } = options;
  const modelsBody = listingCache((snapshot: CatalogSnapshot) => snapshot.entries, modelListBody);
  const modelsFor = (request: FastifyRequest, snapshot: CatalogSnapshot): Buffer =>
    modelsBody(snapshot, request.apiKey?.models === undefined ? undefined : request.apiKey.id, (entry) => mayUseModel(request, entry));
  /** Resolves a model name and checks the request's key may use it. */
  const resolve = async (request: FastifyRequest, name: string): Promise<CatalogEntry> => {
    const entry = await catalog.resolve(name);
    assertModelAccess(request, entry, name);
    return entry;
  };
  /**
   * OpenRouter's `models` fallback list: each name resolved and checked like `model` (404,
   * 403), and served by the same backend. Returns the upstream ids.
   */
  const resolveFallbacks = async (request: FastifyRequest, value: unknown, primary: CatalogEntry, primaryName: string): Promise<string[] | undefined> => {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || !value.every((name) => typeof name === 'string' && name !== '')) {
      throw new GatewayError('BAD_REQUEST', 'models must be a list of model names');
    }
    const ids: string[] = [];
    for (const name of value as string[]) {
      const entry = await resolve(request, name);
      if (entry.adapter !== primary.adapter) {
        throw new GatewayError('BAD_REQUEST', `model '${name}' is served by another backend and cannot be a fallback for '${primaryName}'`);
      }
      ids.push(entry.info.id);
    }
    return ids;
  };

  const sendError = (error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply => sendGatewayError(error, request, reply, toOpenAiErrorBody);
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => sendError(toGatewayError(error, request), request, reply));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const otherMethod = (['GET', 'POST'] as const).some((method) => method !== request.method && app.findRoute({ method, url: path }) !== null);
    const error = otherMethod
      ? new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`)
      : new GatewayError('ROUTE_NOT_FOUND', `${request.method} ${path} is not an OpenAI-compatible route of this server`);
    return sendError(error, request, reply);
  });

  // Listing costs nothing upstream: no rate-limit budget.
  app.get('/models', { config: { unmetered: true } }, async (request, reply) => reply.type(JSON_TYPE).send(modelsFor(request, await catalog.snapshot())));

  // Model ids contain `/` (`openai/gpt-4o`), sent raw or as %2F (openai-node encodes it).
  app.get('/models/*', { config: { unmetered: true } }, async (request, reply) => {
    const name = decodeModelParam((request.params as { '*': string })['*']);
    if (name === '') throw new GatewayError('ROUTE_NOT_FOUND', 'GET /v1/models/ needs a model name');
    const entry = await resolve(request, name);
    return reply.type(JSON_TYPE).send(modelObject(entry, name));
  });

  app.post('/chat/completions', async (request, reply) => {
    const body = parseBody(OpenAiChatRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    if (!body.messages || body.messages.length === 0) throw new GatewayError('BAD_REQUEST', "[] is too short - 'messages'");
    const entry = await resolve(request, body.model);
    const usage = meterRequest(request, entry);
    checkChatCapabilities(entry, body.model, (body.tools?.length ?? 0) > 0, body.think);
    const keepAliveMs = keepAliveMilliseconds(body.keep_alive);
    const stream = body.stream === true;
    const includeUsage = body.stream_options?.include_usage === true;
    const signal = abortOnClientClose(reply);
    const context = callContext(request, signal);

    if (entry.adapter.forwardOpenAiChat !== undefined) {
      // The relay forwards the client's reasoning fields; an effort Ollama does not know is a 400 here too.
      toReasoning(body);
      const raw = request.body as Record<string, unknown>;
      const fallbackModels = await resolveFallbacks(request, raw.models, entry, body.model);
      const forward = { body: raw, model: entry.info.id, ...(fallbackModels === undefined ? {} : { fallbackModels }), ...(entry.defaults === undefined ? {} : { defaults: entry.defaults }) };
      const answer = await entry.adapter.forwardOpenAiChat(forward, context);
      usage.upstreamAccepted();
      catalog.markUsed(entry, keepAliveMs, request.apiKey?.id);
      // The answer names the model as the client did (`coder`), not by the upstream's id.
      if (!stream) return reply.type(JSON_TYPE).send(relayJson(answer, await readBodyText(answer.body, answer.upstream), usage, body.model));
      const relay = await startSseRelay(answer, () => clientLeft(signal), { meter: usage, includeUsage, echoModel: body.model });
      return sendStream(reply, SSE_TYPE, relay);
    }

    const chatRequest = applyModelDefaults(chatRequestFromOpenAi(body, entry.info.id), entry.defaults);
    const meta = newChatCompletionMeta(body.model, includeUsage);
    return answerThroughIr(request, reply, context, {
      catalog, entry, keepAliveMs, chatRequest, stream,
      encoder: () => new OpenAiChatStreamEncoder(meta),
      object: (result) => chatCompletionObject(result, meta),
    });
  });

  app.post('/completions', async (request, reply) => {
    const body = parseBody(OpenAiCompletionRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    const entry = await resolve(request, body.model);
    meterRequest(request, entry);
    checkChatCapabilities(entry, body.model, false);
    const chatRequest = applyModelDefaults(chatRequestFromCompletion(body, entry.info.id), entry.defaults);
    const meta = newCompletionMeta(body.model, body.stream_options?.include_usage === true);
    return answerThroughIr(request, reply, callContext(request, abortOnClientClose(reply)), {
      catalog, entry, chatRequest,
      keepAliveMs: keepAliveMilliseconds(body.keep_alive),
      stream: body.stream === true,
      encoder: () => new OpenAiCompletionStreamEncoder(meta),
      object: (result) => completionObject(result, meta),
    });
  });

  app.post('/embeddings', async (request, reply) => {
    const body = parseBody(OpenAiEmbeddingsRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    const input = embeddingsInput(body.input);
    const encoding = embeddingsEncoding(body.encoding_format);
    const entry = await resolve(request, body.model);
    const usage = meterRequest(request, entry);
    const dimensions = body.dimensions ?? undefined;
    const result = await entry.adapter.embed(
      { model: entry.info.id, input, ...(dimensions === undefined ? {} : { dimensions }) },
      callContext(request, abortOnClientClose(reply)),
    );
    catalog.markUsed(entry, keepAliveMilliseconds(body.keep_alive), request.apiKey?.id);
    usage.report(result.usage);
    const data = result.embeddings.map((vector, index) => {
      const normalized = normalizeEmbedding(vector, dimensions);
      return { object: 'embedding', embedding: encoding === 'base64' ? toBase64Embedding(normalized) : normalized, index };
    });
    const promptTokens = result.usage?.inputTokens ?? 0;
    return reply.type(JSON_TYPE).send({
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  });
}

interface IrAnswerOptions {
  catalog: ModelCatalog;
  entry: CatalogEntry;
  keepAliveMs: number;
  chatRequest: ChatRequest;
  stream: boolean;
  encoder: () => OpenAiSseEncoder;
  object: (result: ChatResult) => Record<string, unknown>;
}

/** Through the IR: stream as SSE or collect into one object, from the same stream path. */
async function answerThroughIr(request: FastifyRequest, reply: FastifyReply, context: CallContext, options: IrAnswerOptions): Promise<FastifyReply> {
  const usage = meterRequest(request, options.entry);
  const chatStream: ChatStream = await options.entry.adapter.streamChat(options.chatRequest, context);
  usage.upstreamAccepted();
  options.catalog.markUsed(options.entry, options.keepAliveMs, request.apiKey?.id);
  if (!options.stream) {
    const result = await collectChat(meteredStream(chatStream, usage));
    return reply.type(JSON_TYPE).send(options.object(result));
  }

  const { first, rest } = await startStream(chatStream);
  const encoder = options.encoder();
  return sendEncodedStream(reply, SSE_TYPE, first, rest, meteredEncoder(encoder, usage));
}

function decodeModelParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

