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
import { collectChat } from '../../core/collect.js';
import { callContext, checkChatCapabilities, meterRequest, meteredEncoder, meteredStream, openIrChat, replayed, type StartedStream } from '../answer-helpers.js';
import { SERVED_MODEL_HEADER, openWithFallbacks } from '../upstream-tries.js';
import type { RequestUsage } from '../../usage/request-usage.js';
import { normalizeEmbedding } from '../../core/embeddings.js';
import type { CatalogEntry, CatalogSnapshot, ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import { toReasoning } from '../../core/reasoning.js';
import type { ChatResult } from '../../core/types.js';
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
    const hasTools = (body.tools?.length ?? 0) > 0;
    checkChatCapabilities(entry, body.model, hasTools, body.think);
    const keepAliveMs = keepAliveMilliseconds(body.keep_alive);
    const stream = body.stream === true;
    const includeUsage = body.stream_options?.include_usage === true;
    const raw = request.body as Record<string, unknown>;
    // The relay forwards the client's reasoning fields; an effort Ollama does not know is a 400 here too.
    if (entry.adapter.forwardOpenAiChat !== undefined) toReasoning(body);
    const fallbackModels = entry.adapter.forwardOpenAiChat === undefined ? undefined : await resolveFallbacks(request, raw.models, entry, body.model);
    const meta = newChatCompletionMeta(body.model, includeUsage);

    // Each try on the model's own path: the passthrough when its backend speaks this dialect, else the IR.
    const { result: send } = await openWithFallbacks(request, reply, catalog, entry, {
      requestedName: body.model,
      accepts: (candidate) => checkChatCapabilities(candidate, candidate.name, hasTools, body.think),
      attempt: async (candidate, signal): Promise<() => Promise<FastifyReply>> => {
        const context = callContext(request, signal);
        if (candidate.adapter.forwardOpenAiChat !== undefined) {
          // Only the model changes for a fallback; the client's `models` go only to the backend they were checked for.
          const forward = {
            body: raw,
            model: candidate.info.id,
            ...(fallbackModels === undefined || candidate.adapter !== entry.adapter ? {} : { fallbackModels }),
            ...(candidate.defaults === undefined ? {} : { defaults: candidate.defaults }),
            ...(candidate.routing?.provider === undefined ? {} : { provider: candidate.routing.provider }),
          };
          const answer = await candidate.adapter.forwardOpenAiChat(forward, context);
          usage.upstreamAccepted();
          catalog.markUsed(candidate, keepAliveMs, request.apiKey?.id);
          // The answer names the model as the client did (`coder`), not by the upstream's id.
          if (!stream) {
            const json = relayJson(answer, await readBodyText(answer.body, answer.upstream), usage, body.model);
            return async () => reply.type(JSON_TYPE).send(json);
          }
          const relay = await startSseRelay(answer, () => clientLeft(signal), { meter: usage, includeUsage, echoModel: body.model });
          return async () => sendStream(reply, SSE_TYPE, relay);
        }
        const chatRequest = applyModelDefaults(chatRequestFromOpenAi(body, candidate.info.id), candidate.defaults);
        const started = await openIrChat(request, catalog, candidate, chatRequest, signal, keepAliveMs);
        return () => answerThroughIr(reply, usage, started, {
          stream,
          encoder: () => new OpenAiChatStreamEncoder(meta),
          object: (result) => chatCompletionObject(result, meta),
        });
      },
    });
    return send();
  });

  app.post('/completions', async (request, reply) => {
    const body = parseBody(OpenAiCompletionRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    const entry = await resolve(request, body.model);
    const usage = meterRequest(request, entry);
    checkChatCapabilities(entry, body.model, false);
    const meta = newCompletionMeta(body.model, body.stream_options?.include_usage === true);
    const keepAliveMs = keepAliveMilliseconds(body.keep_alive);
    const { result: started } = await openWithFallbacks(request, reply, catalog, entry, {
      requestedName: body.model,
      accepts: (candidate) => checkChatCapabilities(candidate, candidate.name, false),
      attempt: (candidate, signal) => openIrChat(request, catalog, candidate, applyModelDefaults(chatRequestFromCompletion(body, candidate.info.id), candidate.defaults), signal, keepAliveMs),
    });
    return answerThroughIr(reply, usage, started, {
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
    reply.header(SERVED_MODEL_HEADER, entry.info.id);
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
  stream: boolean;
  encoder: () => OpenAiSseEncoder;
  object: (result: ChatResult) => Record<string, unknown>;
}

/** Through the IR: stream as SSE or collect into one object, from the same stream path. */
async function answerThroughIr(reply: FastifyReply, usage: RequestUsage, started: StartedStream, options: IrAnswerOptions): Promise<FastifyReply> {
  if (!options.stream) {
    const result = await collectChat(meteredStream(replayed(started), usage));
    return reply.type(JSON_TYPE).send(options.object(result));
  }
  return sendEncodedStream(reply, SSE_TYPE, started.first, started.rest, meteredEncoder(options.encoder(), usage));
}

function decodeModelParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

