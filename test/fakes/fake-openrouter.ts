/**
 * A faithful fake OpenRouter on 127.0.0.1 for tests (reference: openrouter-api.md Appendix A).
 *
 * - `GET /api/v1/models` (text models; `?output_modalities=embeddings|all` adds embedding
 *   models), `GET /api/v1/embeddings/models`, `GET /api/v1/key`.
 * - `POST /api/v1/chat/completions`: SSE exactly as OpenRouter sends it (keep-alive comments,
 *   role chunk, content chunks repeating the role, finish chunk, separate usage chunk,
 *   `data: [DONE]`), or the non-stream JSON with `stream:false`. Auth, unknown model (400),
 *   capability gating (404 for tools / images the model cannot take) as OpenRouter does.
 * - `POST /api/v1/embeddings`.
 * - Models named `fixture/<name>` replay `test/fixtures/openrouter/<name>.sse` byte for byte.
 * - `script(model, ...)` overrides the answer for one model: status errors (with headers such as
 *   Retry-After), raw frames (an in-band error before or after the first token), write modes
 *   (per event, one byte at a time, seeded random cuts, all glued), delays (a hang before the
 *   headers), a connection closed before any answer, an abrupt close.
 * - Every request is recorded, and so is every chat answer the client abandoned midway.
 */
import { seededCuts } from '../helpers/chunking.js';
import { readRequestBody, sleepUnlessClosed } from './shared.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export const FAKE_API_KEY = 'sk-or-v1-fake-test-key';
const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/openrouter/', import.meta.url));

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** Set when the client went away before the answer was fully written. */
  aborted: boolean;
  /** Resolves when the fake has finished with this request (written all, or saw the close). */
  settled: Promise<void>;
}

export type WriteMode = 'event' | 'bytes' | 'glued' | { randomSeed: number; maxPiece?: number };

export interface StreamScript {
  /** Answer with this HTTP status and JSON body instead of a stream. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw SSE text; split into events on blank lines for `event` writes. */
  sse?: string;
  writeMode?: WriteMode;
  /** Pause between writes, in ms. */
  delayMs?: number;
  /** Destroy the socket after writing (an abrupt upstream close). */
  destroyAfter?: boolean;
  /** Wait this long after the last write before ending the response. */
  endDelayMs?: number;
  /** Leading keep-alive newlines on non-stream answers. */
  leadingWhitespace?: string;
  /** Wait this long before answering at all (no status, no headers): a silent upstream. */
  headersDelayMs?: number;
  /** Close the connection without answering (no status): an upstream that cannot be reached. */
  closeBeforeHeaders?: boolean;
  /** After writing this many pieces, go silent for `ms` (then carry on): an idle stream. */
  pauseAfter?: { pieces: number; ms: number };
}

export interface FakeModel {
  id: string;
  name?: string;
  context_length?: number;
  tools?: boolean;
  reasoning?: boolean;
  vision?: boolean;
  embedding?: boolean;
  created?: number;
  tokenizer?: string;
}

export interface FakeOpenRouterOptions {
  models?: FakeModel[];
  apiKey?: string;
}

export interface FakeOpenRouter {
  baseUrl: string;
  requests: RecordedRequest[];
  chatRequests(): RecordedRequest[];
  script(model: string, script: StreamScript | ((body: any) => StreamScript)): void;
  setModels(models: FakeModel[]): void;
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  connectionCount(): number;
  /** Makes /models fail with this status until cleared (undefined). */
  failModels(status: number | undefined): void;
  close(): Promise<void>;
}

export const DEFAULT_MODELS: FakeModel[] = [
  { id: 'openai/gpt-4o', name: 'OpenAI: GPT-4o', context_length: 128000, tools: true, vision: true, created: 1715558400, tokenizer: 'GPT' },
  { id: 'openai/gpt-4.1', name: 'OpenAI: GPT-4.1', context_length: 1047576, tools: true, vision: true, created: 1744651385, tokenizer: 'GPT' },
  { id: 'anthropic/claude-sonnet-4.5', name: 'Anthropic: Claude Sonnet 4.5', context_length: 1000000, tools: true, vision: true, reasoning: true, created: 1759161676, tokenizer: 'Claude' },
  { id: 'deepseek/deepseek-chat-v3:free', name: 'DeepSeek: DeepSeek V3 (free)', context_length: 163840, created: 1740000000, tokenizer: 'DeepSeek' },
  { id: 'deepseek/deepseek-r1', name: 'DeepSeek: R1', context_length: 163840, reasoning: true, created: 1737381095, tokenizer: 'DeepSeek' },
  { id: 'meta-llama/llama-3.3-70b-instruct', name: 'Meta: Llama 3.3 70B Instruct', context_length: 131072, tools: true, created: 1733506137, tokenizer: 'Llama3' },
  { id: 'mistralai/mistral-small', name: 'Mistral Small', context_length: 32768, created: 1720000000, tokenizer: 'Mistral' },
  { id: 'thirdparty/mistral-small', name: 'Another Mistral Small', context_length: 32768, created: 1720000001, tokenizer: 'Mistral' },
  { id: 'openai/text-embedding-3-small', name: 'OpenAI: Text Embedding 3 Small', context_length: 8192, embedding: true, created: 1706000000, tokenizer: 'GPT' },
  ...readdirSync(FIXTURE_DIR)
    .filter((file) => file.endsWith('.sse'))
    .map((file): FakeModel => ({ id: `fixture/${file.slice(0, -4)}`, name: `Fixture ${file}`, context_length: 32768, tools: true, reasoning: true, vision: true, created: 1700000000, tokenizer: 'Other' })),
];

export function loadFixture(name: string): string {
  return readFileSync(`${FIXTURE_DIR}${name}.sse`, 'utf8');
}

export function toOpenRouterModel(model: FakeModel): Record<string, unknown> {
  const supported = ['max_tokens', 'temperature', 'top_p', 'stop', 'seed', 'frequency_penalty', 'presence_penalty', 'response_format', 'structured_outputs'];
  if (model.tools) supported.push('tools', 'tool_choice');
  if (model.reasoning) supported.push('reasoning', 'include_reasoning');
  const inputs = model.vision ? ['text', 'image'] : ['text'];
  const outputs = model.embedding ? ['embeddings'] : ['text'];
  return {
    id: model.id,
    canonical_slug: model.id.replace(/:.*$/, ''),
    hugging_face_id: '',
    name: model.name ?? model.id,
    created: model.created ?? 1700000000,
    description: `${model.name ?? model.id} (fake)`,
    context_length: model.context_length ?? 32768,
    architecture: { modality: `${inputs.join('+')}->${outputs.join('+')}`, input_modalities: inputs, output_modalities: outputs, tokenizer: model.tokenizer ?? 'Other', instruct_type: null },
    pricing: { prompt: '0.0000025', completion: model.embedding ? '0' : '0.00001', request: '0', image: '0' },
    top_provider: { context_length: model.context_length ?? 32768, max_completion_tokens: 16384, is_moderated: false },
    per_request_limits: null,
    supported_parameters: model.embedding ? [] : supported,
    default_parameters: {},
    supported_voices: null,
    links: { details: `/api/v1/models/${model.id}/endpoints` },
  };
}

// ---- SSE builders (also used by tests to script answers) ------------------------------

/** The generation id and the dated model id every chat answer carries, as OpenRouter's do. */
export const FAKE_GENERATION_ID = 'gen-1767225600-FakeFakeFakeFakeFake';
export const FAKE_SERVED_MODEL = 'fake/model-20260101';
const GENERATION_ID = FAKE_GENERATION_ID;

export function sseChunk(delta: Record<string, unknown> | null, finishReason: string | null = null, extra: Record<string, unknown> = {}): string {
  const chunk = {
    id: GENERATION_ID,
    provider: 'FakeProvider',
    model: FAKE_SERVED_MODEL,
    object: 'chat.completion.chunk',
    created: 1767225600,
    choices: delta === null ? [] : [{ index: 0, delta, finish_reason: finishReason, native_finish_reason: finishReason, logprobs: null }],
    ...extra,
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

export const SSE_COMMENT = ': OPENROUTER PROCESSING\n\n';
export const SSE_DONE = 'data: [DONE]\n\n';

export interface UsageDetails {
  reasoningTokens?: number;
  cachedTokens?: number;
  /** USD; default a millionth per token. */
  cost?: number;
}

export function usageChunk(promptTokens: number, completionTokens: number, details: UsageDetails = {}): string {
  const usage: Record<string, unknown> = {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    cost: details.cost ?? 0.000001 * (promptTokens + completionTokens),
    is_byok: false,
  };
  if (details.cachedTokens !== undefined) usage.prompt_tokens_details = { cached_tokens: details.cachedTokens };
  if (details.reasoningTokens !== undefined) usage.completion_tokens_details = { reasoning_tokens: details.reasoningTokens };
  return sseChunk(null, null, { usage });
}

/** The default streamed answer: `pieces` as content chunks, then finish, usage and [DONE]. */
export function textStream(pieces: string[], finishReason = 'stop', usage: [number, number] = [12, pieces.length], details: UsageDetails = {}): string {
  let sse = SSE_COMMENT + sseChunk({ role: 'assistant', content: '', reasoning: null, reasoning_details: [] });
  for (const piece of pieces) sse += sseChunk({ role: 'assistant', content: piece, reasoning: null, reasoning_details: [] });
  sse += sseChunk({ role: 'assistant', content: '' }, finishReason);
  sse += usageChunk(usage[0], usage[1], details);
  return sse + SSE_DONE;
}

/** One fragment of `reasoning_details` as OpenRouter streams it. */
export type ReasoningFragment = Record<string, unknown> & { type: string };

export interface ReasoningStreamOptions {
  /** The reasoning as OpenRouter streams it: each chunk its `reasoning` text (null: none) and its detail fragments. */
  reasoning: Array<{ text: string | null; details: ReasoningFragment[] }>;
  /** The answer's text pieces, after the reasoning. */
  text?: string[];
  /** Tool calls, each sent as a first fragment (id, name, "") and one of arguments. */
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  usage?: [number, number];
}

/**
 * A reasoning model's stream, byte for byte as OpenRouter sends one: reasoning chunks
 * (`content:""`, `reasoning` and `reasoning_details` fragments, e.g. Anthropic's text fragments
 * then a signature-only fragment, or OpenAI's summary and encrypted ones), then the text or
 * tool calls, the finish chunk, usage and [DONE].
 */
export function reasoningStream(options: ReasoningStreamOptions): string {
  let sse = SSE_COMMENT;
  for (const { text, details } of options.reasoning) sse += sseChunk({ role: 'assistant', content: '', reasoning: text, reasoning_details: details });
  for (const piece of options.text ?? []) sse += sseChunk({ role: 'assistant', content: piece });
  (options.toolCalls ?? []).forEach((call, index) => {
    sse += sseChunk({ role: 'assistant', content: null, tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
    sse += sseChunk({ role: 'assistant', content: null, tool_calls: [{ index, type: 'function', function: { arguments: call.arguments } }] });
  });
  const finish = (options.toolCalls ?? []).length > 0 ? 'tool_calls' : 'stop';
  sse += sseChunk({ role: 'assistant', content: '', reasoning: null, reasoning_details: [] }, finish);
  const [prompt, completion] = options.usage ?? [20, 30];
  return sse + usageChunk(prompt, completion, { reasoningTokens: Math.floor(completion / 2) }) + SSE_DONE;
}

/**
 * The details a client must send back, as OpenRouter's own client rebuilds them from the
 * fragments (ai-sdk-provider): consecutive text (or summary) fragments of one index merged,
 * the first non-empty other fields kept; every other fragment as it came.
 */
export function mergedReasoningDetails(fragments: readonly ReasoningFragment[]): ReasoningFragment[] {
  const merged: ReasoningFragment[] = [];
  for (const fragment of fragments) {
    const last = merged.at(-1);
    const field = fragment.type === 'reasoning.text' ? 'text' : fragment.type === 'reasoning.summary' ? 'summary' : undefined;
    if (last !== undefined && field !== undefined && last.type === fragment.type && last.index === fragment.index) {
      for (const [key, value] of Object.entries(fragment)) {
        if (value === undefined || value === null) continue;
        if (key === field) last[key] = `${typeof last[key] === 'string' ? last[key] : ''}${typeof value === 'string' ? value : ''}`;
        else if (last[key] === undefined || last[key] === null || last[key] === '') last[key] = value;
      }
    } else {
      merged.push({ ...fragment });
    }
  }
  return merged;
}

function lastUserText(body: any): string {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) return message.content.filter((part: any) => part?.type === 'text').map((part: any) => part.text).join(' ');
  }
  return '';
}

/** Deterministic unnormalised embedding of a text. */
export function fakeEmbedding(text: string, dimensions = 8): number[] {
  const vector: number[] = [];
  for (let index = 0; index < dimensions; index++) {
    let hash = 2166136261 ^ index;
    for (let position = 0; position < text.length; position++) hash = Math.imul(hash ^ text.charCodeAt(position), 16777619);
    vector.push(((hash >>> 0) % 2000) / 100 - 10);
  }
  return vector;
}

export function splitForWriteMode(sse: string, mode: WriteMode): Buffer[] {
  const bytes = Buffer.from(sse, 'utf8');
  if (mode === 'glued') return [bytes];
  if (mode === 'bytes') return [...bytes].map((byte) => Buffer.from([byte]));
  if (typeof mode === 'object') return seededCuts(bytes, mode.randomSeed, mode.maxPiece ?? 64);
  // One write per event (an event ends with a blank line, LF or CRLF).
  return sse.split(/(?<=\r?\n\r?\n)/).filter((piece) => piece !== '').map((piece) => Buffer.from(piece, 'utf8'));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenRouter(options: FakeOpenRouterOptions = {}): Promise<FakeOpenRouter> {
  const apiKey = options.apiKey ?? FAKE_API_KEY;
  let models = options.models ?? DEFAULT_MODELS;
  let modelsFailure: number | undefined;
  const scripts = new Map<string, StreamScript | ((body: any) => StreamScript)>();
  const requests: RecordedRequest[] = [];

  const sendJson = (response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}, leading = ''): void => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(leading + JSON.stringify(payload));
  };
  const errorBody = (code: number, message: string) => ({ error: { message, code }, user_id: 'user_fake' });

  async function writeStream(response: ServerResponse, record: RecordedRequest, script: StreamScript): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-generation-id': GENERATION_ID, ...script.headers });
    response.flushHeaders();
    let written = 0;
    for (const piece of splitForWriteMode(script.sse ?? '', script.writeMode ?? 'event')) {
      if (response.destroyed || record.aborted) return;
      if (script.pauseAfter !== undefined && written === script.pauseAfter.pieces) await sleepUnlessClosed(response, script.pauseAfter.ms);
      written++;
      if (response.destroyed || record.aborted) return;
      if (script.delayMs) await sleep(script.delayMs);
      else if (script.writeMode === 'bytes' || typeof script.writeMode === 'object') await new Promise((resolve) => setImmediate(resolve));
      if (response.destroyed || record.aborted) return;
      if (!response.write(piece)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
    }
    if (script.destroyAfter) {
      response.socket?.destroy();
      return;
    }
    if (script.endDelayMs) await sleepUnlessClosed(response, script.endDelayMs);
    response.end();
  }

  function defaultChatScript(body: any, model: FakeModel): StreamScript {
    if (model.id.startsWith('fixture/')) return { sse: loadFixture(model.id.slice('fixture/'.length)) };
    const reply = `Echo from ${model.id}: ${lastUserText(body)}`;
    const pieces = reply.match(/\S+\s*/g) ?? [reply];
    const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
    const truncated = maxTokens !== undefined && pieces.length > maxTokens;
    const used = truncated ? pieces.slice(0, maxTokens) : pieces;
    return { sse: textStream(used, truncated ? 'length' : 'stop', [lastUserText(body).length, used.length]) };
  }

  function nonStreamBody(sse: string): unknown {
    // Collapse a scripted stream into the non-stream JSON answer.
    let content = '';
    let reasoning = '';
    const details: ReasoningFragment[] = [];
    const toolCalls: Array<{ id: string; type: string; function: { name: string; arguments: string } }> = [];
    let finish: string | null = null;
    let usage: unknown;
    for (const line of sse.split(/\r?\n/)) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') break;
      const chunk = JSON.parse(data);
      if (chunk.error) return { error: chunk.error, user_id: 'user_fake' };
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) content += choice.delta.content;
      if (choice?.delta?.reasoning) reasoning += choice.delta.reasoning;
      if (Array.isArray(choice?.delta?.reasoning_details)) details.push(...choice.delta.reasoning_details);
      for (const fragment of choice?.delta?.tool_calls ?? []) {
        const slot = (toolCalls[fragment.index] ??= { id: fragment.id, type: 'function', function: { name: fragment.function?.name ?? '', arguments: '' } });
        slot.function.arguments += fragment.function?.arguments ?? '';
      }
      if (choice?.finish_reason && finish === null) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    return {
      id: GENERATION_ID, provider: 'FakeProvider', model: FAKE_SERVED_MODEL, object: 'chat.completion', created: 1767225600,
      choices: [{ logprobs: null, finish_reason: finish, native_finish_reason: finish, index: 0, message: {
        role: 'assistant', content, refusal: null, reasoning: reasoning || null,
        ...(details.length > 0 ? { reasoning_details: mergedReasoningDetails(details) } : {}),
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      } }],
      usage,
    };
  }

  async function handleChat(request: IncomingMessage, response: ServerResponse, record: RecordedRequest): Promise<void> {
    const body = record.body;
    const model = models.find((candidate) => candidate.id === body?.model && !candidate.embedding);
    const scripted = scripts.get(body?.model);
    if (!model && !scripted) return sendJson(response, 400, errorBody(400, `${body?.model} is not a valid model ID`));
    if (!Array.isArray(body?.messages) || body.messages.length === 0) return sendJson(response, 400, errorBody(400, 'messages: Too small: expected array to have >=1 items'));
    if (model && Array.isArray(body.tools) && body.tools.length > 0 && !model.tools) return sendJson(response, 404, errorBody(404, 'No endpoints found that support tool use'));
    const hasImage = body.messages.some((message: any) => Array.isArray(message.content) && message.content.some((part: any) => part?.type === 'image_url'));
    if (model && hasImage && !model.vision) return sendJson(response, 404, errorBody(404, 'No endpoints found that support image input'));
    const script = scripted === undefined ? defaultChatScript(body, model!) : typeof scripted === 'function' ? scripted(body) : scripted;
    if (script.headersDelayMs) {
      await sleepUnlessClosed(response, script.headersDelayMs);
      if (response.destroyed || record.aborted) return;
    }
    if (script.closeBeforeHeaders) {
      response.socket?.destroy();
      return;
    }
    if (script.status !== undefined && script.status !== 200) return sendJson(response, script.status, script.body ?? errorBody(script.status, 'scripted error'), script.headers);
    if (body.stream !== true) {
      if (script.body !== undefined) return sendJson(response, 200, script.body, script.headers, script.leadingWhitespace);
      return sendJson(response, 200, nonStreamBody(script.sse ?? ''), { 'x-generation-id': GENERATION_ID }, script.leadingWhitespace);
    }
    void request;
    await writeStream(response, record, script);
  }

  function handleEmbeddings(response: ServerResponse, body: any): void {
    const model = models.find((candidate) => candidate.id === body?.model);
    if (!model) return sendJson(response, 400, errorBody(400, `${body?.model} is not a valid model ID`));
    if (!model.embedding) return sendJson(response, 400, errorBody(400, `${body.model} is not an embeddings model`));
    const inputs: string[] = typeof body.input === 'string' ? [body.input] : body.input;
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 8;
    const tokens = inputs.reduce((total, text) => total + Math.max(1, text.split(/\s+/).length), 0);
    sendJson(response, 200, {
      id: 'gen-emb-1767225600-FakeFakeFakeFake', object: 'list',
      // Returned out of order on purpose: clients must sort by index.
      data: inputs.map((text, index) => ({ object: 'embedding', embedding: fakeEmbedding(text, dimensions), index })).reverse(),
      model: 'text-embedding-3-small', provider: 'OpenAI',
      usage: { prompt_tokens: tokens, total_tokens: tokens, cost: 1e-7, is_byok: false },
    });
  }

  const server: Server = createServer((request, response) => {
    void readRequestBody(request).then(({ body }) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      let settle!: () => void;
      const record: RecordedRequest = { method: request.method ?? 'GET', path: url.pathname + url.search, headers: request.headers, body, aborted: false, settled: new Promise((resolve) => (settle = resolve)) };
      requests.push(record);
      response.on('close', () => {
        if (!response.writableFinished) record.aborted = true;
        settle();
      });
      const authorization = request.headers.authorization;
      const authorized = authorization === `Bearer ${apiKey}`;
      void (async () => {
        if (url.pathname === '/api/v1/models' || url.pathname === '/api/v1/embeddings/models') {
          if (modelsFailure !== undefined) return sendJson(response, modelsFailure, errorBody(modelsFailure, 'models unavailable'));
          const modalities = url.pathname.endsWith('/embeddings/models') ? 'embeddings' : url.searchParams.get('output_modalities') ?? 'text';
          const wanted = modalities.split(',');
          const wantText = modalities === 'all' || wanted.includes('text');
          const wantEmbeddings = modalities === 'all' || wanted.includes('embeddings');
          const listed = models.filter((model) => (model.embedding ? wantEmbeddings : wantText));
          return sendJson(response, 200, { data: listed.map(toOpenRouterModel), total_count: listed.length, links: { next: null } });
        }
        if (!authorization || !authorization.startsWith('Bearer ') || authorization === 'Bearer ') return sendJson(response, 401, errorBody(401, 'No auth credentials found'));
        if (!authorized) return sendJson(response, 401, errorBody(401, 'User not found.'));
        if (url.pathname === '/api/v1/key') return sendJson(response, 200, { data: { label: 'sk-or-v1-fak…key', limit: null, usage: 0, is_free_tier: false } });
        if (request.method === 'POST' && url.pathname === '/api/v1/chat/completions') return handleChat(request, response, record);
        if (request.method === 'POST' && url.pathname === '/api/v1/embeddings') return handleEmbeddings(response, body);
        sendJson(response, 404, errorBody(404, 'Not Found'));
      })().catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, errorBody(500, String(error)));
        else response.destroy();
      });
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    requests,
    chatRequests: () => requests.filter((record) => record.path === '/api/v1/chat/completions'),
    connectionCount: () => connections,
    script: (model, script) => void scripts.set(model, script),
    setModels: (next) => void (models = next),
    failModels: (status) => void (modelsFailure = status),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
