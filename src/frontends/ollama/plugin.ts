/**
 * Ollama's native API (/api/*) on top of the model catalog and the backend adapters.
 * Errors in Ollama's dialect: `{"error": "..."}` with the right status.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  OllamaChatRequest,
  OllamaEmbedRequest,
  OllamaEmbeddingsRequest,
  OllamaGenerateRequest,
  OllamaShowRequest,
} from '#schemas/ollama.js';
import type { Config } from '#schemas/config.js';
import { assertModelAccess, mayUseModel, requireScope } from '../../auth/access-control.js';
import { keyAllowsModel, type KeyRecord } from '../../auth/api-keys.js';
import { TAGS_PATH, serveTagsInFront } from './fast-tags.js';
import { collectChat } from '../../core/collect.js';
import { callContext, checkChatCapabilities, meterRequest, meteredEncoder, meteredStream, openIrChat, replayed, type StartedStream } from '../answer-helpers.js';
import { SERVED_MODEL_HEADER, openWithFallbacks } from '../upstream-tries.js';
import type { RequestUsage } from '../../usage/request-usage.js';
import { normalizeEmbedding } from '../../core/embeddings.js';
import type { CatalogEntry, CatalogSnapshot, ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import type { ChatRequest } from '../../core/types.js';
import { GatewayError } from '../../errors.js';
import { listingCache, parseBody } from '../../http/request-errors.js';
import { abortOnClientClose } from '../../streaming/client-abort.js';
import { sendEncodedStream } from '../../streaming/send-stream.js';
import {
  OllamaStreamEncoder,
  StreamTiming,

  ollamaFinalObject,
  ollamaLoadObject,
  type OllamaEndpoint,
} from './encode.js';
import { psEntry, showBody, tagsBody } from './models.js';
import { canonicalizeOllamaBody } from './go-json-keys.js';
import { canPassThrough, forwardToOllama, limitedUpload, type ForwardBody } from './passthrough.js';
import { isOllamaAdapter, type OllamaAdapter } from '../../core/backend-adapter.js';
import { chatRequestFromGenerate, chatRequestFromOllama } from './translate.js';
import { keepAliveMilliseconds } from '../keep-alive.js';
import { encodeGenerateContext } from './generate-context.js';

export interface OllamaFrontendOptions {
  catalog: ModelCatalog;
  config: Config;
  /** A real upstream Ollama: its models pass through byte for byte, and model management works. */
  upstreamOllama?: OllamaAdapter;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const NDJSON_TYPE = 'application/x-ndjson';

/**
 * Pulling, pushing, creating and uploading take as long as the model is large, and say nothing
 * for minutes (a non-stream pull answers only when done; a streamed one goes quiet while it
 * verifies a large blob): no upstream timeout for them. The client hanging up still stops them.
 */
const LONG_RUNNING_MANAGEMENT = new Set(['/api/pull', '/api/push', '/api/create', '/api/blobs/:digest']);
const NO_UPSTREAM_TIMEOUTS = { headersTimeoutMs: 0, bodyTimeoutMs: 0 };

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
  const tagsBodies = listingCache((snapshot: CatalogSnapshot) => snapshot.entries, (entries) => tagsBody(entries, newerTagFields));
  const tagsFor = (key: KeyRecord | undefined, snapshot: CatalogSnapshot): Buffer =>
    tagsBodies(snapshot, key?.models === undefined ? undefined : key.id, (entry) => keyAllowsModel(key, [entry.info.id, entry.name]));
  // The same answer, served in front of Fastify when the request needs nothing else (fast-tags.ts).
  serveTagsInFront(app, { catalog, contentType: JSON_TYPE, body: tagsFor });

  // Read every JSON body the way the upstream Ollama would (see go-json-keys.ts): a hook on the
  // routes that take a body only, so a GET runs no preValidation step at all.
  const canonicalizeBody = (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    canonicalizeOllamaBody(request.body);
    done();
  };
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    if (methods.every((method) => method === 'GET' || method === 'HEAD')) return;
    route.preValidation = [canonicalizeBody, ...[route.preValidation ?? []].flat()];
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/',
    config: { unmetered: true },
    handler: async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Ollama is running'),
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/version',
    config: { unmetered: true },
    handler: async (_request, reply) => reply.type(JSON_TYPE).send({ version: config.OLLAMA_VERSION }),
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: TAGS_PATH,
    config: { unmetered: true },
    handler: (request, reply) => {
      // While the catalog is fresh the answer is sent at once: no promise on the most frequent route.
      const fresh = catalog.freshSnapshot();
      if (fresh === undefined) return catalog.snapshot().then((snapshot) => reply.type(JSON_TYPE).send(tagsFor(request.apiKey, snapshot)));
      void reply.type(JSON_TYPE).send(tagsFor(request.apiKey, fresh));
      return undefined;
    },
  });

  // Listing and showing cost nothing upstream: no rate-limit budget (Copilot shows every model).
  app.post('/api/show', { config: { unmetered: true } }, async (request, reply) => {
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
    assertModelAccess(request, entry, name);
    if (canPassThrough(entry, name) && isOllamaAdapter(entry.adapter)) return forwardToOllama(request, reply, entry.adapter, { json: request.body });
    const userAgent = request.headers['user-agent'] ?? '';
    return reply.type(JSON_TYPE).send(showBody(entry, { requestedName: name, isCopilot: userAgent.startsWith('GitHubCopilotChat/') }));
  });

  app.get('/api/ps', { config: { unmetered: true } }, async (request, reply) => {
    await catalog.snapshot();
    // A key sees only its own uses (and only models it may still use); an open gateway sees all.
    const used = catalog.recentlyUsed(request.apiKey?.id).filter((use) => mayUseModel(request, use.entry));
    return reply.type(JSON_TYPE).send({ models: used.map(psEntry) });
  });

  app.post('/api/chat', async (request, reply) => {
    const body = parseBody(OllamaChatRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'model is required');
    return chatOrGenerate(request, reply, catalog, {
      endpoint: 'chat',
      model: body.model,
      keepAlive: body.keep_alive,
      stream: body.stream,
      think: body.think,
      hasInput: (body.messages?.length ?? 0) > 0,
      toChatRequest: (upstreamModel) => chatRequestFromOllama(body, upstreamModel),
    });
  });

  app.post('/api/generate', async (request, reply) => {
    const body = parseBody(OllamaGenerateRequest, request.body);
    if (!body.model) throw new GatewayError('MODEL_NOT_FOUND', "model '' not found");
    return chatOrGenerate(request, reply, catalog, {
      endpoint: 'generate',
      model: body.model,
      keepAlive: body.keep_alive,
      stream: body.stream,
      think: body.think,
      hasInput: Boolean(body.prompt) || (body.images?.length ?? 0) > 0,
      toChatRequest: (upstreamModel) => chatRequestFromGenerate(body, upstreamModel),
      // As in Ollama, raw mode returns no context.
      contextFor: body.raw ? undefined : (chatRequest) => (text) => encodeGenerateContext(chatRequest.messages, text),
    });
  });

  app.post('/api/embed', async (request, reply) => {
    const body = parseBody(OllamaEmbedRequest, request.body);
    if (!body.model) throw new GatewayError('MODEL_NOT_FOUND', "model '' not found");
    const input = embedInput(body.input);
    const entry = await resolveForEmbedding(catalog, body.model);
    assertModelAccess(request, entry, body.model);
    const usage = meterRequest(request, entry);
    reply.header(SERVED_MODEL_HEADER, entry.info.id);
    if (canPassThrough(entry, body.model) && isOllamaAdapter(entry.adapter)) return forwardToOllama(request, reply, entry.adapter, { json: request.body }, { usage });
    if (input.length === 0) return reply.type(JSON_TYPE).send({ model: body.model, embeddings: [] });
    const timing = new StreamTiming();
    const dimensions = body.dimensions ?? undefined;
    const result = await entry.adapter.embed(
      { model: entry.info.id, input, ...(dimensions === undefined ? {} : { dimensions }) },
      callContext(request, abortOnClientClose(reply)),
    );
    catalog.markUsed(entry, keepAliveMilliseconds(body.keep_alive), request.apiKey?.id);
    usage.report(result.usage);
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
    assertModelAccess(request, entry, body.model);
    const usage = meterRequest(request, entry);
    reply.header(SERVED_MODEL_HEADER, entry.info.id);
    if (canPassThrough(entry, body.model) && isOllamaAdapter(entry.adapter)) return forwardToOllama(request, reply, entry.adapter, { json: request.body }, { usage });
    if (!body.prompt) return reply.type(JSON_TYPE).send({ embedding: [] });
    const result = await entry.adapter.embed({ model: entry.info.id, input: [body.prompt] }, callContext(request, abortOnClientClose(reply)));
    catalog.markUsed(entry, keepAliveMilliseconds(body.keep_alive), request.apiKey?.id);
    usage.report(result.usage);
    return reply.type(JSON_TYPE).send({ embedding: result.embeddings[0] ?? [] });
  });

  const forwardManagement = (route: (typeof MODEL_MANAGEMENT_ROUTES)[number]) => async (request: FastifyRequest, reply: FastifyReply) => {
    const upstream = options.upstreamOllama;
    if (upstream === undefined) {
      throw new GatewayError(
        'NOT_IMPLEMENTED',
        `${route.url.replace('/:digest', '')} is not supported: ollama-bridge serves the models of its backends (OpenRouter), which need no pulling, pushing, creating, copying or deleting; start it with --ollama-url to manage a real Ollama's models`,
      );
    }
    const isBlob = route.url.startsWith('/api/blobs');
    let body: ForwardBody = { json: request.body };
    if (isBlob) {
      const upload = request.body as Readable | undefined;
      const tooLarge = (): GatewayError => {
        // The rest of the upload is not read: close the connection after the answer.
        reply.header('connection', 'close');
        return new GatewayError('PAYLOAD_TOO_LARGE', `blob upload is larger than the limit of ${config.BLOB_LIMIT_BYTES} bytes (--blob-limit)`);
      };
      if (Number(request.headers['content-length']) > config.BLOB_LIMIT_BYTES) throw tooLarge();
      body = upload === undefined ? undefined : { stream: limitedUpload(upload, config.BLOB_LIMIT_BYTES, tooLarge) };
    }
    // A model added or removed upstream shows in the catalog at once.
    return forwardToOllama(request, reply, upstream, body, {
      onFinished: (status) => {
        if (status < 400 && !isBlob) void catalog.refresh();
      },
      ...(LONG_RUNNING_MANAGEMENT.has(route.url) ? { timeouts: NO_UPSTREAM_TIMEOUTS } : {}),
    });
  };
  // Any key can use models; only an admin key can change them.
  const adminOnly = requireScope('admin', 'manage models (pull, push, create, copy, delete, blobs)');
  for (const route of MODEL_MANAGEMENT_ROUTES.filter((candidate) => !candidate.url.startsWith('/api/blobs'))) {
    app.route({ method: route.method, url: route.url, onRequest: adminOnly, handler: forwardManagement(route) });
  }
  await app.register(async (blobs) => {
    // Blob uploads are model weights: stream them through untouched, never parse or buffer
    // them. Their limit is --blob-limit, counted as they stream.
    blobs.removeAllContentTypeParsers();
    blobs.addContentTypeParser('*', { bodyLimit: Number.MAX_SAFE_INTEGER }, (_request, payload, done) => done(null, payload));
    for (const route of MODEL_MANAGEMENT_ROUTES.filter((candidate) => candidate.url.startsWith('/api/blobs'))) {
      blobs.route({ method: route.method, url: route.url, bodyLimit: Number.MAX_SAFE_INTEGER, onRequest: adminOnly, handler: forwardManagement(route) });
    }
  });
}

/** What /api/chat and /api/generate differ in; the rest of their path is one. */
interface ModelTurn {
  endpoint: OllamaEndpoint;
  model: string;
  keepAlive: Parameters<typeof keepAliveMilliseconds>[0];
  stream: boolean | null | undefined;
  think: Parameters<typeof checkChatCapabilities>[3];
  /** False when there is nothing to answer: the call only loads (or unloads) the model, as in Ollama. */
  hasInput: boolean;
  toChatRequest: (upstreamModel: string) => ChatRequest;
  /** Generate's `context` from the answer's text, given the request that was sent. */
  contextFor?: ((chatRequest: ChatRequest) => (answer: string) => number[]) | undefined;
}

/**
 * A model's own Ollama passes the call through; otherwise a load answer, or the chat upstream.
 * Either way through the model's retries and fallbacks (upstream-tries.ts): a fallback is
 * never passed through (its name is not the one the client sent), it is translated.
 */
async function chatOrGenerate(request: FastifyRequest, reply: FastifyReply, catalog: ModelCatalog, turn: ModelTurn): Promise<FastifyReply> {
  const entry = await catalog.resolve(turn.model);
  assertModelAccess(request, entry, turn.model);
  const usage = meterRequest(request, entry);
  const keepAliveMs = keepAliveMilliseconds(turn.keepAlive);
  const passesThrough = (candidate: CatalogEntry): candidate is CatalogEntry & { adapter: OllamaAdapter } => canPassThrough(candidate, turn.model) && isOllamaAdapter(candidate.adapter);
  let primaryRequest: ChatRequest | undefined;
  if (!passesThrough(entry)) {
    if (!turn.hasInput) {
      catalog.markUsed(entry, keepAliveMs, request.apiKey?.id);
      return reply.type(JSON_TYPE).send(ollamaLoadObject(turn.model, turn.endpoint, keepAliveMs === 0));
    }
    primaryRequest = applyModelDefaults(turn.toChatRequest(entry.info.id), entry.defaults);
    checkChatCapabilities(entry, turn.model, primaryRequest.tools !== undefined, turn.think);
  }
  const timing = new StreamTiming();
  const { result: send } = await openWithFallbacks(request, reply, catalog, entry, {
    requestedName: turn.model,
    // Loading (or unloading) a model: only that model can.
    withoutFallbacks: !turn.hasInput,
    accepts: (candidate) => {
      const hasTools = (primaryRequest ?? turn.toChatRequest(candidate.info.id)).tools !== undefined;
      checkChatCapabilities(candidate, candidate.name, hasTools, turn.think);
    },
    attempt: async (candidate, signal, final): Promise<() => Promise<FastifyReply>> => {
      if (passesThrough(candidate)) {
        catalog.markUsed(candidate, keepAliveMs, request.apiKey?.id);
        const sent = await forwardToOllama(request, reply, candidate.adapter, { json: request.body }, { usage, generates: true, retryableStatusThrows: !final });
        return () => Promise.resolve(sent);
      }
      const chatRequest = candidate === entry && primaryRequest !== undefined ? primaryRequest : applyModelDefaults(turn.toChatRequest(candidate.info.id), candidate.defaults);
      const started = await openIrChat(request, catalog, candidate, chatRequest, signal, keepAliveMs, () => timing.markUpstreamAccepted());
      return () => answer(reply, usage, timing, { model: turn.model, endpoint: turn.endpoint, stream: turn.stream !== false, started, contextOf: turn.contextFor?.(chatRequest) });
    },
  });
  return send();
}

interface AnswerOptions {
  model: string;
  endpoint: OllamaEndpoint;
  stream: boolean;
  /** The upstream's answer, its first events read. */
  started: StartedStream;
  /** Generate's `context` from the answer's text. */
  contextOf?: ((answer: string) => number[]) | undefined;
}

/** Answers as a stream or as one object, from the same stream path. */
async function answer(reply: FastifyReply, usage: RequestUsage, timing: StreamTiming, options: AnswerOptions): Promise<FastifyReply> {
  const { model, endpoint, started } = options;
  if (!options.stream) {
    const result = await collectChat(meteredStream(replayed(started), usage), () => timing.markToken());
    return reply.type(JSON_TYPE).send(ollamaFinalObject(model, endpoint, result, timing, options.contextOf?.(result.text)));
  }
  const encoder = new OllamaStreamEncoder(model, endpoint, timing, options.contextOf);
  return sendEncodedStream(reply, NDJSON_TYPE, started.first, started.rest, meteredEncoder(encoder, usage));
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
  if (Array.isArray(input) && input.every((item) => typeof item === 'string')) return input;
  throw new GatewayError('BAD_REQUEST', 'invalid input type');
}


function versionAtLeast(version: string, minimum: [number, number, number]): boolean {
  const parts = version.split('.').map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (parts[index] ?? 0) - minimum[index]!;
    if (difference !== 0) return difference > 0;
  }
  return true;
}
