/**
 * The Ollama adapter against the fake Ollama over real HTTP.
 */
import { CLIENT_CLOSED } from '../../src/streaming/client-abort.js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext, OllamaAdapter } from '../../src/core/backend-adapter.js';
import { createOllamaAdapter } from '../../src/adapters/ollama/index.js';
import { toOllamaChatBody } from '../../src/adapters/ollama/request.js';
import { decodeOllamaStream } from '../../src/adapters/ollama/stream.js';
import { collectChat } from '../../src/core/collect.js';
import type { ChatEvent, ChatEventBatch, ChatRequest, ChatStream } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';
import { OllamaChatResponse, OllamaShowResponse, OllamaTagsResponse } from '../../schemas/ollama.js';
import { DEFAULT_MODELS, fakeVector, l2Normalize, startFakeOllama, type FakeOllama, type FakeOllamaModel } from '../fakes/fake-ollama.js';

const silent = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
const context = (signal: AbortSignal = new AbortController().signal): CallContext => ({ signal, log: silent });
const fixtureText = (name: string): string => readFileSync(new URL(`../fixtures/ollama/${name}.ndjson`, import.meta.url), 'utf8');

const adapterFor = (fake: FakeOllama, showConcurrency?: number): OllamaAdapter =>
  createOllamaAdapter({ baseUrl: `${fake.baseUrl}/`, connectTimeoutMs: 2_000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, ...(showConcurrency === undefined ? {} : { showConcurrency }) });

const chat = (model: string, text: string, overrides: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: 'user', content: text }], sampling: {}, ...overrides });

async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

async function allEvents(stream: ChatStream): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const batch of stream) events.push(...batch);
  return events;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

let fake: FakeOllama;
let adapter: OllamaAdapter;

beforeAll(async () => {
  fake = await startFakeOllama();
  adapter = adapterFor(fake);
});

afterEach(() => {
  fake.clearScripts();
  fake.setModels(DEFAULT_MODELS);
});

afterAll(async () => {
  await adapter.close();
  await fake.close();
});

describe('the fake Ollama speaks the documented shapes', () => {
  it('lists, shows and streams what the gateway’s own Ollama schemas accept', async () => {
    const tags = await request(`${fake.baseUrl}/api/tags`);
    expect(tags.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(OllamaTagsResponse.safeParse(await tags.body.json()).error?.issues ?? []).toEqual([]);
    for (const model of DEFAULT_MODELS) {
      const show = await request(`${fake.baseUrl}/api/show`, { method: 'POST', body: JSON.stringify({ name: model.name.toUpperCase() }) });
      expect(OllamaShowResponse.safeParse(await show.body.json()).error?.issues ?? []).toEqual([]);
    }
    const stream = await request(`${fake.baseUrl}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }] }) });
    expect(stream.headers['content-type']).toBe('application/x-ndjson');
    const lines = (await stream.body.text()).split('\n').filter((line) => line !== '');
    for (const line of lines) expect(OllamaChatResponse.safeParse(JSON.parse(line)).error?.issues ?? [], line).toEqual([]);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('answers unknown paths and wrong methods as gin does', async () => {
    const missing = await request(`${fake.baseUrl}/api/nope`);
    expect([missing.statusCode, missing.headers['content-type'], await missing.body.text()]).toEqual([404, 'text/plain; charset=utf-8', '404 page not found']);
    const wrongMethod = await request(`${fake.baseUrl}/api/chat`);
    expect([wrongMethod.statusCode, await wrongMethod.body.text()]).toEqual([405, '405 method not allowed']);
  });
});

describe('listModels', () => {
  it('lists every model with its show details', async () => {
    const models = await adapter.listModels();
    expect(models.map((model) => model.id).sort()).toEqual(DEFAULT_MODELS.map((model) => model.name).sort());
    const byId = new Map(models.map((model) => [model.id, model]));
    expect(byId.get('llama3.2:latest')).toEqual({
      id: 'llama3.2:latest',
      backend: 'ollama',
      capabilities: ['completion', 'tools'],
      family: 'llama',
      parameterSize: '3.2B',
      quantization: 'Q4_K_M',
      contextLength: 131072,
      createdAt: Math.floor(Date.parse('2025-05-04T17:37:44.706-07:00') / 1000),
    });
    expect(byId.get('qwen3:8b')?.capabilities).toEqual(['completion', 'tools', 'thinking']);
    // The vision projector's clip.context_length (77) is not the model's.
    expect(byId.get('llava:7b')).toMatchObject({ capabilities: ['completion', 'vision'], contextLength: 32768 });
    expect(byId.get('all-minilm:latest')).toMatchObject({ capabilities: ['embedding'], contextLength: 512 });
  });

  it('asks /api/show once per model by its listed name, at most 4 at a time', async () => {
    const own = await startFakeOllama({
      models: Array.from({ length: 10 }, (_, index): FakeOllamaModel => ({ ...DEFAULT_MODELS[0]!, name: `model-${index}:latest` })),
    });
    own.script('*', { route: '/api/show', headersDelayMs: 40 });
    const ownAdapter = adapterFor(own);
    try {
      expect(await ownAdapter.listModels()).toHaveLength(10);
      const shows = own.requestsTo('/api/show');
      expect(shows.map((record) => record.body.model).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `model-${index}:latest`).sort());
      expect(own.maxConcurrent('/api/show')).toBe(4);
    } finally {
      await ownAdapter.close();
      await own.close();
    }
  });

  it('still lists a model whose show fails, from its tags entry', async () => {
    fake.script('qwen3:8b', { route: '/api/show', status: 500, body: { error: 'blob sha256-x not found' } });
    const qwen = (await adapter.listModels()).find((model) => model.id === 'qwen3:8b');
    // A 0.12-style tags entry has no capabilities: completion is all that can be said.
    expect(qwen).toMatchObject({ capabilities: ['completion'], family: 'qwen3', parameterSize: '8.2B' });
    expect(qwen).not.toHaveProperty('contextLength');
  });

  it('falls back to the tags entry’s capabilities and context length on a 0.30+ server', async () => {
    const modern = await startFakeOllama({ tagsCapabilities: true });
    modern.script('qwen3:8b', { route: '/api/show', status: 404, body: { error: "model 'qwen3:8b' not found" } });
    const modernAdapter = adapterFor(modern);
    try {
      const qwen = (await modernAdapter.listModels()).find((model) => model.id === 'qwen3:8b');
      expect(qwen).toMatchObject({ capabilities: ['completion', 'tools', 'thinking'], contextLength: 40960 });
    } finally {
      await modernAdapter.close();
      await modern.close();
    }
  });

  it('rejects with UPSTREAM_UNAVAILABLE when Ollama cannot be reached', async () => {
    const gone = await startFakeOllama();
    const goneAdapter = adapterFor(gone);
    await gone.close();
    try {
      expect(await rejection(goneAdapter.listModels())).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', statusCode: 502 });
    } finally {
      await goneAdapter.close();
    }
  });
});

describe('streamChat', () => {
  it('sends the translated body and collects the answer', async () => {
    const request = chat('llama3.2:latest', 'Hello there', { sampling: { temperature: 0.1 }, keepAlive: '1m' });
    const result = await collectChat(await adapter.streamChat(request, context()));
    expect(result).toEqual({ text: 'Echo from llama3.2:latest: Hello there', reasoning: '', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 2, outputTokens: 5 } });
    const recorded = fake.requestsTo('/api/chat').at(-1)!;
    expect(recorded.body).toEqual(toOllamaChatBody(request));
    expect(recorded.headers['content-type']).toBe('application/json');
  });

  it('streams thinking from a thinking model, and none with think:false', async () => {
    const thinking = await collectChat(await adapter.streamChat(chat('qwen3:8b', 'why?'), context()));
    expect(thinking).toMatchObject({ reasoning: 'Thinking about "why?".', text: 'Echo from qwen3:8b: why?' });
    const plain = await collectChat(await adapter.streamChat(chat('qwen3:8b', 'why?', { reasoning: { enabled: false } }), context()));
    expect(plain.reasoning).toBe('');
    expect(fake.requestsTo('/api/chat').at(-1)!.body.think).toBe(false);
  });

  it('reads tool calls from their own line (shape a) and gives id-less calls Ollama-style ids', async () => {
    const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const events = await allEvents(await adapter.streamChat(chat('llama3.2:latest', 'Paris', { tools }), context()));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'tool-call', index: 0, call: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect((events[0] as Extract<ChatEvent, { type: 'tool-call' }>).call.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(events[1]).toMatchObject({ type: 'finish', reason: 'tool-calls' });
  });

  it('reads tool calls from the final line (shape b), keeping upstream ids', async () => {
    fake.script('gpt-oss:20b', { toolCalls: [{ name: 'a', arguments: { x: 1 } }, { name: 'b', arguments: {} }] });
    const result = await collectChat(await adapter.streamChat(chat('gpt-oss:20b', 'go', { tools: [{ name: 'a' }, { name: 'b' }] }), context()));
    expect(result.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_fake\d{4}$/), name: 'a', arguments: '{"x":1}' },
      { id: expect.stringMatching(/^call_fake\d{4}$/), name: 'b', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool-calls');
  });

  it('counts indexes itself when every parallel call says index 0', async () => {
    fake.script('qwen3:8b', { toolCalls: [{ name: 'a', arguments: {} }, { name: 'b', arguments: {} }, { name: 'c', arguments: {} }] });
    const events = await allEvents(await adapter.streamChat(chat('qwen3:8b', 'go', { tools: [{ name: 'a' }], reasoning: { enabled: false } }), context()));
    const upstreamIndexes = fake.requestsTo('/api/chat').at(-1)!.written.toString();
    expect(upstreamIndexes).toContain('"index":0');
    expect(events.filter((event) => event.type === 'tool-call').map((event) => [event.index, event.call.name])).toEqual([[0, 'a'], [1, 'b'], [2, 'c']]);
  });

  it('reports length when num_predict cut the answer', async () => {
    const result = await collectChat(await adapter.streamChat(chat('llama3.2:latest', 'one two three four', { sampling: { maxOutputTokens: 2 } }), context()));
    expect(result).toMatchObject({ text: 'Echo from ', finishReason: 'length' });
  });

  it('decodes a recorded stream the same whatever the network cuts', async () => {
    fake.script('gpt-oss:20b', { ndjson: fixtureText('tool-calls-b') });
    const expected = await collectChat(await adapter.streamChat(chat('gpt-oss:20b', 'x'), context()));
    expect(expected.toolCalls).toHaveLength(2);
    for (const writeMode of ['bytes', 'glued', { randomSeed: 7, maxPiece: 13 }] as const) {
      fake.script('gpt-oss:20b', { ndjson: fixtureText('tool-calls-b'), writeMode });
      expect(await collectChat(await adapter.streamChat(chat('gpt-oss:20b', 'x'), context()))).toEqual(expected);
    }
  });

  it('rejects an unknown model before the stream with Ollama’s 404 and message', async () => {
    const error = await rejection(adapter.streamChat(chat('nope', 'hi'), context()));
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', statusCode: 404, message: "model 'nope' not found" });
  });

  it('rejects an upstream 500 with that status and message', async () => {
    fake.script('llama3.2:latest', { status: 500, body: { error: 'llama runner process has terminated: exit status 2' } });
    const error = await rejection(adapter.streamChat(chat('llama3.2:latest', 'hi'), context()));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', statusCode: 500, message: 'llama runner process has terminated: exit status 2' });
  });

  it('passes Ollama’s own 400 on (tools on a model without tools)', async () => {
    const error = await rejection(adapter.streamChat(chat('llava:7b', 'hi', { tools: [{ name: 'f' }] }), context()));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', statusCode: 400, message: 'registry.ollama.ai/library/llava:7b does not support tools' });
  });

  it('keeps an Ollama 401 a 401: it is not the gateway’s key being refused', async () => {
    fake.script('gpt-oss:20b', { status: 401, body: { error: 'unauthorized', signin_url: 'https://ollama.com/connect?name=x' } });
    const error = await rejection(adapter.streamChat(chat('gpt-oss:20b', 'hi'), context()));
    expect(error).toMatchObject({ code: 'UPSTREAM_ERROR', statusCode: 401, message: 'unauthorized' });
  });

  it('carries Retry-After from a 503', async () => {
    fake.script('llama3.2:latest', { status: 503, body: { error: 'server busy, please try again.  maximum pending requests exceeded' }, headers: { 'retry-after': '5' } });
    const error = await rejection(adapter.streamChat(chat('llama3.2:latest', 'hi'), context()));
    expect(error).toMatchObject({ statusCode: 503, retryAfter: '5', message: 'server busy, please try again.  maximum pending requests exceeded' });
  });

  it('turns an error line mid-stream into an error event after the text so far', async () => {
    fake.script('llama3.2:latest', { reply: 'one two three four', errorAfter: { lines: 2, message: 'an error was encountered while running the model: CUDA error' } });
    const events = await allEvents(await adapter.streamChat(chat('llama3.2:latest', 'hi'), context()));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'UPSTREAM_ERROR', message: 'an error was encountered while running the model: CUDA error' } });
    expect(events.filter((event) => event.type === 'finish')).toEqual([]);
    expect(events.filter((event) => event.type === 'text-delta').map((event) => event.text).join('')).toBe('one two ');
    // Collected (a non-stream client), it is the 500 Ollama itself answers a failed stream:false call with.
    const stream = await adapter.streamChat(chat('llama3.2:latest', 'hi'), context());
    await expect(collectChat(stream)).rejects.toMatchObject({ statusCode: 500 });
  });

  it('turns an upstream that dies mid-answer into an error event', async () => {
    fake.script('llama3.2:latest', { reply: 'one two three four', closeAfter: { lines: 2 } });
    const events = await allEvents(await adapter.streamChat(chat('llama3.2:latest', 'hi'), context()));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { statusCode: 502 } });
    expect(events.filter((event) => event.type === 'finish')).toEqual([]);
  });

  it('aborts the upstream request when the client hangs up, and stops quietly', async () => {
    fake.script('llama3.2:latest', { reply: Array.from({ length: 40 }, (_, index) => `w${index}`).join(' '), delayMs: 50 });
    const controller = new AbortController();
    const stream = await adapter.streamChat(chat('llama3.2:latest', 'hi'), context(controller.signal));
    const recorded = fake.requestsTo('/api/chat').at(-1)!;
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    // What abortOnClientClose gives when the client hangs up (any other reason is reported as an error).
    controller.abort(CLIENT_CLOSED);
    const remaining: ChatEventBatch[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) remaining.push(next.value);
    expect(remaining.flat().filter((event) => event.type === 'error' || event.type === 'finish')).toEqual([]);
    expect(await waitFor(() => recorded.aborted, 2_000)).toBeLessThan(2_000);
  });

  it('aborts while waiting for headers (a model still loading) with CLIENT_CLOSED', async () => {
    fake.script('llama3.2:latest', { headersDelayMs: 5_000 });
    const controller = new AbortController();
    const pending = adapter.streamChat(chat('llama3.2:latest', 'hi'), context(controller.signal));
    await waitFor(() => fake.requestsTo('/api/chat').some((record) => record.status === undefined && !record.aborted), 2_000);
    const recorded = fake.requestsTo('/api/chat').at(-1)!;
    controller.abort();
    expect(await rejection(pending)).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(await waitFor(() => recorded.aborted, 2_000)).toBeLessThan(2_000);
  });

  it('refuses an image URL before sending anything', async () => {
    const before = fake.requests.length;
    const request = chat('llava:7b', 'what is it?');
    request.messages[0]!.images = ['https://example.com/cat.png'];
    expect(await rejection(adapter.streamChat(request, context()))).toMatchObject({ code: 'BAD_REQUEST', statusCode: 400 });
    expect(fake.requests.length).toBe(before);
  });
});

describe('embed', () => {
  it('returns the vectors as Ollama sent them, with prompt_eval_count as input tokens', async () => {
    const result = await adapter.embed({ model: 'all-minilm:latest', input: ['hello world', 'second'] }, context());
    expect(result).toEqual({
      embeddings: [l2Normalize(fakeVector('hello world', 8)), l2Normalize(fakeVector('second', 8))],
      usage: { inputTokens: 3 },
    });
    expect(fake.requestsTo('/api/embed').at(-1)!.body).toEqual({ model: 'all-minilm:latest', input: ['hello world', 'second'], truncate: true });
  });

  it('passes dimensions on', async () => {
    const result = await adapter.embed({ model: 'all-minilm:latest', input: ['x'], dimensions: 4 }, context());
    expect(result.embeddings[0]).toHaveLength(4);
  });

  it('rejects an unknown model with Ollama’s 404', async () => {
    const error = await rejection(adapter.embed({ model: 'ghost', input: ['x'] }, context()));
    expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', statusCode: 404, message: 'model "ghost" not found, try pulling it first' });
  });

  it('rejects an answer without vectors', async () => {
    fake.script('all-minilm:latest', { route: '/api/embed', body: { model: 'all-minilm:latest' } });
    expect(await rejection(adapter.embed({ model: 'all-minilm:latest', input: ['x'] }, context()))).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  });
});

describe('forwardRaw', () => {
  it('passes /api/pull progress through byte for byte', async () => {
    const body = Buffer.from(JSON.stringify({ model: 'tinyllama' }));
    const response = await adapter.forwardRaw('POST', '/api/pull', { 'content-type': 'application/json', 'user-agent': 'ollama-js/0.6.4' }, body);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson');
    expect(response.headers).not.toHaveProperty('transfer-encoding');
    const bytes = await readAll(response.body);
    const recorded = fake.requestsTo('/api/pull').at(-1)!;
    expect(bytes.equals(Buffer.concat(recorded.written))).toBe(true);
    expect(recorded.rawBody.equals(body)).toBe(true);
    expect(recorded.headers['user-agent']).toBe('ollama-js/0.6.4');
    const lines = bytes.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.at(-1)).toEqual({ status: 'success' });
    expect(lines.length).toBeGreaterThan(4);
  });

  it('passes a pull that fails mid-stream through as Ollama sent it (200 + error line)', async () => {
    const response = await adapter.forwardRaw('POST', '/api/pull', {}, Buffer.from('{"model":"missing-model"}'));
    expect(response.statusCode).toBe(200);
    expect((await readAll(response.body)).toString()).toBe('{"status":"pulling manifest"}\n{"error":"pull model manifest: file does not exist"}\n');
  });

  it('returns a non-2xx answer instead of throwing', async () => {
    const response = await adapter.forwardRaw('DELETE', '/api/delete', { 'content-type': 'application/json' }, Buffer.from('{"model":"ghost"}'));
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect((await readAll(response.body)).toString()).toBe('{"error":"model \'ghost\' not found"}');
    const unknownRoute = await adapter.forwardRaw('GET', '/api/unknown', {}, undefined);
    expect([unknownRoute.statusCode, (await readAll(unknownRoute.body)).toString()]).toEqual([404, '404 page not found']);
  });

  it('passes an empty 200 body, a HEAD and a query string', async () => {
    const deleted = await adapter.forwardRaw('DELETE', '/api/delete', {}, Buffer.from('{"name":"llava:7b"}'));
    expect([deleted.statusCode, (await readAll(deleted.body)).length]).toEqual([200, 0]);
    const head = await adapter.forwardRaw('HEAD', '/', {}, undefined);
    expect([head.statusCode, (await readAll(head.body)).length]).toEqual([200, 0]);
    const tags = await adapter.forwardRaw('get', '/api/tags?verbose=1', {}, undefined);
    expect(tags.statusCode).toBe(200);
    await readAll(tags.body);
    expect(fake.requests.at(-1)!.path).toBe('/api/tags?verbose=1');
  });

  it('sends raw bytes unchanged (a blob upload verifies its digest)', async () => {
    const blob = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0x80]);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const created = await adapter.forwardRaw('POST', `/api/blobs/${digest}`, { 'content-type': 'application/octet-stream' }, blob);
    expect(created.statusCode).toBe(201);
    await readAll(created.body);
    const exists = await adapter.forwardRaw('HEAD', `/api/blobs/${digest}`, {}, undefined);
    expect(exists.statusCode).toBe(200);
    await readAll(exists.body);
  });

  it('drops hop-by-hop and framing headers the client sent to the gateway', async () => {
    const body = Buffer.from('{}');
    const response = await adapter.forwardRaw(
      'GET',
      '/api/version',
      { host: 'gateway.local:11434', connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'content-length': '999', 'x-kept': 'yes' },
      body,
    );
    expect(response.statusCode).toBe(200);
    expect(JSON.parse((await readAll(response.body)).toString())).toEqual({ version: '0.12.10' });
    const headers = fake.requests.at(-1)!.headers;
    expect(headers.host).toBe(new URL(fake.baseUrl).host);
    expect(headers['x-kept']).toBe('yes');
    expect(headers).not.toHaveProperty('x-hop');
    expect(headers).not.toHaveProperty('keep-alive');
    expect(headers['content-length']).toBe('2');
  });

  it('aborts the upstream request with the signal', async () => {
    fake.script('slow-model', { route: '/api/pull', delayMs: 300 });
    const controller = new AbortController();
    const response = await adapter.forwardRaw('POST', '/api/pull', {}, Buffer.from('{"model":"slow-model"}'), controller.signal);
    const recorded = fake.requestsTo('/api/pull').at(-1)!;
    controller.abort();
    await readAll(response.body).catch(() => undefined);
    expect(await waitFor(() => recorded.aborted, 2_000)).toBeLessThan(2_000);
  });

  it('passes /api/generate through, and the same decoder reads its lines', async () => {
    const response = await adapter.forwardRaw('POST', '/api/generate', {}, Buffer.from('{"model":"qwen3:8b","prompt":"rain"}'));
    expect(response.statusCode).toBe(200);
    const events: ChatEvent[] = [];
    for await (const batch of decodeOllamaStream(response.body)) events.push(...batch);
    const text = (type: string) => events.filter((event) => event.type === type).map((event) => (event as { text: string }).text).join('');
    expect([text('reasoning-delta'), text('text-delta')]).toEqual(['Thinking about "rain".', 'Echo from qwen3:8b: rain']);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop', usage: { inputTokens: 1 } });
  });

  it('passes the model management routes through (copy, create, legacy embeddings)', async () => {
    const copied = await adapter.forwardRaw('POST', '/api/copy', {}, Buffer.from('{"source":"llama3.2","destination":"mine"}'));
    expect([copied.statusCode, (await readAll(copied.body)).length]).toEqual([200, 0]);
    const created = await adapter.forwardRaw('POST', '/api/create', {}, Buffer.from('{"model":"mine-terse","from":"mine:latest","system":"Be terse."}'));
    const statuses = (await readAll(created.body)).toString().trimEnd().split('\n').map((line) => JSON.parse(line).status);
    expect(statuses[0]).toBe('reading model metadata');
    expect(statuses.at(-1)).toBe('success');
    expect((await adapter.listModels()).map((model) => model.id)).toEqual(expect.arrayContaining(['mine:latest', 'mine-terse:latest']));
    const legacy = await adapter.forwardRaw('POST', '/api/embeddings', {}, Buffer.from('{"model":"all-minilm","prompt":"hi"}'));
    expect(JSON.parse((await readAll(legacy.body)).toString())).toEqual({ embedding: fakeVector('hi', 8) });
  });

  it('throws only for transport failures and bad paths', async () => {
    const gone = await startFakeOllama();
    const goneAdapter = adapterFor(gone);
    await gone.close();
    try {
      expect(await rejection(goneAdapter.forwardRaw('GET', '/api/tags', {}, undefined))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    } finally {
      await goneAdapter.close();
    }
    expect(await rejection(adapter.forwardRaw('GET', 'api/tags', {}, undefined))).toMatchObject({ code: 'INTERNAL' });
  });
});
