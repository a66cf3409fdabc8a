/**
 * Ollama's native API (/api/*) on top of the model catalog and the backend adapters.
 * Errors in Ollama's dialect: `{"error": "..."}` with the right status.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  OllamaChatRequest,
  OllamaEmbedRequest,
  OllamaEmbeddingsRequest,
  OllamaGenerateRequest,
  OllamaShowRequest,
} from '#schemas/ollama.js';
import type { Config } from '#schemas/config.js';
import { collectChat } from '../../core/collect.js';
import { normalizeEmbedding } from '../../core/embeddings.js';
import type { CatalogEntry, CatalogSnapshot, ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import type { ChatRequest, ChatStream } from '../../core/types.js';
import { GatewayError } from '../../errors.js';
import { abortOnClientClose } from '../../streaming/client-abort.js';
import { sendStream } from '../../streaming/send-stream.js';
import {
  OllamaStreamEncoder,
  StreamTiming,
  encodeOllamaStream,
  ollamaFinalObject,
  ollamaLoadObject,
  type OllamaEndpoint,
} from './encode.js';
import { psEntry, showBody, tagsBody } from './models.js';
import { chatRequestFromGenerate, chatRequestFromOllama, keepAliveMilliseconds } from './translate.js';

export interface OllamaFrontendOptions {
  catalog: ModelCatalog;
  config: Config;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_TYPE = 'application/x-ndjson';

/** Ollama answers 501-worthy model management this way: models come from the backends. */
const MODEL_MANAGEMENT_ROUTES: Array<{ method: 'POST' | 'DELETE' | 'HEAD'; url: string }> = [
  { method: 'POST', url: '/api/pull' },
  { method: 'POST', url: '/api/push' },
  { method: 'POST', url: '/api/create' },
  { method: 'POST', url: '/api/copy' },
  { method: 'DELETE', url: '/api/delete' },
  { method: 'HEAD', url: '/api/blobs/:digest' },
  { method: 'POST', url: '/api/blobs/:digest' },
];

export async function ollamaFrontend(app: FastifyInstance, options: OllamaFrontendOptions): Promise<void> {
  const { catalog, config } = options;
  const newerTagFields = versionAtLeast(config.OLLAMA_VERSION, [0, 30, 0]);
  const tagsCache = new WeakMap<CatalogSnapshot, string>();

  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    handler: async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Ollama is running'),
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/version',
    handler: async (_request, reply) => reply.type(JSON_TYPE).send({ version: config.OLLAMA_VERSION }),
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/tags',
    handler: async (_request, reply) => {
      const snapshot = await catalog.snapshot();
      let body = tagsCache.get(snapshot);
      if (body === undefined) {
        body = tagsBody(snapshot.entries, newerTagFields);
        tagsCache.set(snapshot, body);
      }
      return reply.type(JSON_TYPE).send(body);
    },
  });

  app.post('/api/show', async (request, reply) => {
    const body = parseBody(OllamaShowRequest, request.body);
    const name = body.model || body.name;
    if (!name) throw new GatewayError('BAD_REQUEST', 'model is required');
    let entry: CatalogEntry;
    try {
      entry = await catalog.resolve(name);
    } catch (error) {
      // Ollama words a show 404 with the normalised name.
      if (error instanceof GatewayError && error.code === 'MODEL_NOT_FOUND' && !error.message.includes('ambiguous')) {
        throw new GatewayError('MODEL_NOT_FOUND', `model '${name.includes(':') ? name : `${name}:latest`}' not found`);
      }
      throw error;
    }
    const userAgent = request.headers['user-agent'] ?? '';
    return reply.type(JSON_TYPE).send(showBody(entry, { requestedName: name, isCopilot: userAgent.startsWith('GitHubCopilotChat/') }));
  });

  app.get('/api/ps', async (_request, reply) => {
    await catalog.snapshot();
    return reply.type(JSON_TYPE).send({ models: catalog.recentlyUsed().map(psEntry) });
  });

  app.post('/api/chat', async (request, reply) => {
    const body = parseBody(OllamaChatRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    const entry = await catalog.resolve(body.model);
    const keepAliveMs = keepAliveMilliseconds(body.keep_alive);
    if (!body.messages || body.messages.length === 0) {
      catalog.markUsed(entry, keepAliveMs);
      return reply.type(JSON_TYPE).send(ollamaLoadObject(body.model, 'chat', keepAliveMs === 0));
    }
    const chatRequest = applyModelDefaults(chatRequestFromOllama(body, entry.info.id), entry.defaults);
    checkCapabilities(entry, body.model, chatRequest);
    return answer(request, reply, { catalog, entry, keepAliveMs, model: body.model, endpoint: 'chat', stream: body.stream !== false, chatRequest });
  });

  app.post('/api/generate', async (request, reply) => {
    const body = parseBody(OllamaGenerateRequest, request.body);
    if (!body.model) throw new GatewayError('MODEL_NOT_FOUND', "model '' not found");
    const entry = await catalog.resolve(body.model);
    const keepAliveMs = keepAliveMilliseconds(body.keep_alive);
    if (!body.prompt && !(body.images && body.images.length > 0)) {
      catalog.markUsed(entry, keepAliveMs);
      return reply.type(JSON_TYPE).send(ollamaLoadObject(body.model, 'generate', keepAliveMs === 0));
    }
    const chatRequest = applyModelDefaults(chatRequestFromGenerate(body, entry.info.id), entry.defaults);
    checkCapabilities(entry, body.model, chatRequest);
    return answer(request, reply, { catalog, entry, keepAliveMs, model: body.model, endpoint: 'generate', stream: body.stream !== false, chatRequest });
  });

  app.post('/api/embed', async (request, reply) => {
    const body = parseBody(OllamaEmbedRequest, request.body);
    if (!body.model) throw new GatewayError('MODEL_NOT_FOUND', "model '' not found");
    const input = embedInput(body.input);
    const entry = await resolveForEmbedding(catalog, body.model);
    if (input.length === 0) return reply.type(JSON_TYPE).send({ model: body.model, embeddings: [] });
    const timing = new StreamTiming();
    const dimensions = body.dimensions ?? undefined;
    const result = await entry.adapter.embed(
      { model: entry.info.id, input, ...(dimensions === undefined ? {} : { dimensions }) },
      { signal: abortOnClientClose(reply), log: request.log },
    );
    catalog.markUsed(entry, keepAliveMilliseconds(body.keep_alive));
    timing.markUpstreamAccepted();
    const metrics = timing.metrics(result.usage);
    const answerBody: Record<string, unknown> = {
      model: body.model,
      embeddings: result.embeddings.map((vector) => normalizeEmbedding(vector, dimensions)),
      total_duration: metrics.total_duration,
      load_duration: metrics.load_duration,
    };
    if (result.usage?.inputTokens) answerBody.prompt_eval_count = result.usage.inputTokens;
    return reply.type(JSON_TYPE).send(answerBody);
  });

  app.post('/api/embeddings', async (request, reply) => {
    const body = parseBody(OllamaEmbeddingsRequest, request.body);
    if (!body.model) throw new GatewayError('MODEL_NOT_FOUND', "model '' not found");
    const entry = await resolveForEmbedding(catalog, body.model);
    if (!body.prompt) return reply.type(JSON_TYPE).send({ embedding: [] });
    const result = await entry.adapter.embed({ model: entry.info.id, input: [body.prompt] }, { signal: abortOnClientClose(reply), log: request.log });
    catalog.markUsed(entry, keepAliveMilliseconds(body.keep_alive));
    return reply.type(JSON_TYPE).send({ embedding: result.embeddings[0] ?? [] });
  });

  for (const route of MODEL_MANAGEMENT_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      handler: async () => {
        throw new GatewayError(
          'NOT_IMPLEMENTED',
          `${route.url.replace('/:digest', '')} is not supported: ollama-bridge serves the models of its backends (OpenRouter), which need no pulling, pushing, creating, copying or deleting`,
        );
      },
    });
  }
}

interface AnswerOptions {
  catalog: ModelCatalog;
  entry: CatalogEntry;
  keepAliveMs: number;
  model: string;
  endpoint: OllamaEndpoint;
  stream: boolean;
  chatRequest: ChatRequest;
}

/** Sends the chat upstream and answers as a stream or as one object, from the same stream path. */
async function answer(request: FastifyRequest, reply: FastifyReply, options: AnswerOptions): Promise<FastifyReply> {
  const { entry, model, endpoint } = options;
  const timing = new StreamTiming();
  const signal = abortOnClientClose(reply);
  const stream: ChatStream = await entry.adapter.streamChat(options.chatRequest, { signal, log: request.log });
  timing.markUpstreamAccepted();
  options.catalog.markUsed(entry, options.keepAliveMs);

  if (!options.stream) {
    const result = await collectChat(stream);
    timing.markToken();
    return reply.type(JSON_TYPE).send(ollamaFinalObject(model, endpoint, result, timing));
  }

  // Hold the headers until the upstream's first events: an error that arrives before any
  // token (OpenRouter commits its 200 early) still gets a real HTTP status, as Ollama gives.
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) {
    throw new GatewayError('UPSTREAM_BAD_RESPONSE', 'the upstream ended the stream without answering');
  }
  const firstEvent = first.value[0];
  if (firstEvent?.type === 'error') {
    await iterator.return?.();
    throw firstEvent.error;
  }
  const encoder = new OllamaStreamEncoder(model, endpoint, timing);
  return sendStream(reply, NDJSON_TYPE, encodeOllamaStream(first.value, iterator, encoder));
}

/** Tools on a model without tool support: Ollama's 400, before paying for a round trip. */
function checkCapabilities(entry: CatalogEntry, requestedName: string, chatRequest: ChatRequest): void {
  const capabilities = entry.info.capabilities;
  if (capabilities.includes('embedding') && !capabilities.includes('completion')) {
    throw new GatewayError('BAD_REQUEST', `"${requestedName}" does not support chat`);
  }
  if (chatRequest.tools !== undefined && !capabilities.includes('tools')) {
    throw new GatewayError('BAD_REQUEST', `${entry.name} does not support tools`);
  }
}

async function resolveForEmbedding(catalog: ModelCatalog, name: string): Promise<CatalogEntry> {
  try {
    return await catalog.resolve(name);
  } catch (error) {
    if (error instanceof GatewayError && error.code === 'MODEL_NOT_FOUND' && !error.message.includes('ambiguous')) {
      throw new GatewayError('MODEL_NOT_FOUND', `model "${name}" not found, try pulling it first`);
    }
    throw error;
  }
}

function embedInput(input: unknown): string[] {
  if (input === undefined || input === null || input === '') return [];
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input as string[];
  throw new GatewayError('BAD_REQUEST', 'invalid input type');
}

export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  if (body === undefined || body === null || body === '') throw new GatewayError('BAD_REQUEST', 'missing request body');
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new GatewayError('BAD_REQUEST', `invalid request: ${path}${issue.message}`);
  }
  return parsed.data;
}

function versionAtLeast(version: string, minimum: [number, number, number]): boolean {
  const parts = version.split('.').map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (parts[index] ?? 0) - minimum[index]!;
    if (difference !== 0) return difference > 0;
  }
  return true;
}
