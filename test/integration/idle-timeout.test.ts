/**
 * The idle timeout (UPSTREAM_BODY_TIMEOUT_MS), with small values: keep-alive comments and
 * progress lines keep a slow answer alive however long it takes; an upstream that goes silent
 * mid-answer ends it with the dialect's error (a 504 before the first byte, an in-band error
 * after it); model management, which can be silent for minutes by design, is never cut.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { startFakeOllama, chatLine, type FakeOllama } from '../fakes/fake-ollama.js';
import { DEFAULT_MODELS, SSE_COMMENT, SSE_DONE, sseChunk, textStream, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

const IDLE_MS = 300;
/** undici checks its timeouts on a coarse clock: a silence this long is surely past IDLE_MS. */
const WELL_PAST_IDLE_MS = 2_000;
const SCRIPTED = ['slow/comments-a', 'slow/comments-b', 'silent/a', 'silent/b', 'silent/c', 'silent/d'].map((id) => ({ id, context_length: 8192, created: 1600000000 }));

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
const client = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });

beforeAll(async () => {
  [openRouter, ollama] = await Promise.all([startFakeOpenRouter({ models: [...DEFAULT_MODELS, ...SCRIPTED] }), startFakeOllama()]);
  gateway = await startGateway(openRouter.baseUrl, {
    OLLAMA_BASE_URL: ollama.baseUrl,
    PREFER_BACKEND: 'openrouter',
    UPSTREAM_BODY_TIMEOUT_MS: IDLE_MS,
    UPSTREAM_HEADERS_TIMEOUT_MS: IDLE_MS,
  });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([openRouter?.close(), ollama?.close()]);
  await client.close();
});

async function post(path: string, body: unknown): Promise<{ status: number; contentType: string; text: string; ms: number }> {
  const started = Date.now();
  const response = await request(`${gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body), dispatcher: client });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: String(response.headers['content-type']), text, ms: Date.now() - started };
}

const user = [{ role: 'user', content: 'hi' }];
const dataEvents = (text: string): any[] => text.split('\n\n').filter((event) => event.startsWith('data: {')).map((event) => JSON.parse(event.slice(6)));

/** Keep-alive comments `IDLE_MS / 3` apart for three times the idle timeout, then an answer. */
function commentsThenAnswer(): { sse: string; delayMs: number } {
  const comments = SSE_COMMENT.repeat(9);
  return { sse: comments + textStream(['Hello', ' there']), delayMs: IDLE_MS / 3 };
}

describe('a healthy but slow upstream is never cut', () => {
  it('/api/chat: keep-alive comments for longer than the idle timeout, then the answer', async () => {
    openRouter.script('slow/comments-a', commentsThenAnswer());
    const result = await post('/api/chat', { model: 'slow/comments-a', messages: user });
    expect(result.status).toBe(200);
    expect(result.ms).toBeGreaterThan(3 * IDLE_MS);
    const lines = parseNdjson(result.text);
    expect(lines.map((line) => line.message?.content ?? '').join('')).toBe('Hello there');
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('/v1/chat/completions (relay): the same, comments passed on', async () => {
    openRouter.script('slow/comments-b', commentsThenAnswer());
    const result = await post('/v1/chat/completions', { model: 'slow/comments-b', messages: user, stream: true });
    expect(result.status).toBe(200);
    expect(result.ms).toBeGreaterThan(3 * IDLE_MS);
    expect(dataEvents(result.text).map((event) => event.choices?.[0]?.delta?.content ?? '').join('')).toBe('Hello there');
    expect(result.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('an upstream Ollama: NDJSON lines closer together than the timeout, for longer than it', async () => {
    ollama.script('llama3.2:latest', { delayMs: IDLE_MS / 3 });
    const result = await post('/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'one two three four five six seven eight nine' }], stream: true });
    ollama.clearScripts();
    expect(result.status).toBe(200);
    expect(result.ms).toBeGreaterThan(3 * IDLE_MS);
    expect(result.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(result.text).not.toContain('"error"');
  });
});

describe('an upstream that goes silent ends the answer with the dialect\'s error', () => {
  const silentBeforeText = { sse: SSE_COMMENT + sseChunk({ role: 'assistant', content: 'never' }) + SSE_DONE, pauseAfter: { pieces: 1, ms: 5_000 } };
  // Comment, role chunk, 'Hello', ' there', then silence.
  const silentAfterText = { sse: textStream(['Hello', ' there', ' again']), pauseAfter: { pieces: 4, ms: 5_000 } };

  it('/api/chat before the first byte: 504 {"error"}', async () => {
    openRouter.script('silent/a', silentBeforeText);
    const result = await post('/api/chat', { model: 'silent/a', messages: user });
    expect(result.status).toBe(504);
    expect(JSON.parse(result.text)).toEqual({ error: 'OpenRouter went silent mid-answer (body timeout)' });
    expect(result.ms).toBeLessThan(IDLE_MS + 1_500);
  });

  it('/api/chat after the first byte: an {"error"} line ends the NDJSON stream', async () => {
    openRouter.script('silent/b', silentAfterText);
    const result = await post('/api/chat', { model: 'silent/b', messages: user });
    expect(result.status).toBe(200);
    const lines = parseNdjson(result.text);
    expect(lines.map((line) => line.message?.content ?? '').join('')).toBe('Hello there');
    expect(lines.at(-1)).toEqual({ error: 'OpenRouter went silent mid-answer (body timeout)' });
    expect(lines.some((line) => line.done === true)).toBe(false);
  });

  it('/v1/chat/completions relay before the first byte: 504 in OpenAI\'s shape', async () => {
    openRouter.script('silent/c', silentBeforeText);
    const result = await post('/v1/chat/completions', { model: 'silent/c', messages: user, stream: true });
    expect(result.status).toBe(504);
    expect(JSON.parse(result.text)).toEqual({ error: { message: 'OpenRouter went silent mid-answer (body timeout)', type: 'api_error', param: null, code: 'upstream_timeout' } });
  });

  it('/v1/chat/completions relay after the first byte: an SSE error event, no [DONE]', async () => {
    openRouter.script('silent/d', silentAfterText);
    const result = await post('/v1/chat/completions', { model: 'silent/d', messages: user, stream: true });
    expect(result.status).toBe(200);
    const events = dataEvents(result.text);
    expect(events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('')).toBe('Hello there');
    expect(events.at(-1)).toEqual({ error: { message: 'OpenRouter went silent mid-answer (body timeout)', type: 'api_error', param: null, code: 'upstream_timeout' } });
    expect(result.text).not.toContain('[DONE]');
  });

  it('/api/chat passed through to an upstream Ollama after the first byte: an {"error"} line, not a cut connection', async () => {
    const ndjson = chatLine('qwen3:8b', { content: 'Hello' }) + chatLine('qwen3:8b', { content: ' there' }) + chatLine('qwen3:8b', {}, { done: true, done_reason: 'stop' });
    ollama.script('qwen3:8b', { ndjson, pauseAfter: { lines: 2, ms: 5_000 } });
    const result = await post('/api/chat', { model: 'qwen3:8b', messages: user });
    ollama.clearScripts();
    expect(result.status).toBe(200);
    const lines = parseNdjson(result.text);
    expect(lines.map((line) => line.message?.content ?? '').join('')).toBe('Hello there');
    expect(lines.at(-1)).toEqual({ error: 'Ollama went silent mid-answer (body timeout)' });
  });

  it('/v1/chat/completions through the IR (an upstream Ollama) before the first byte: 504', async () => {
    ollama.script('qwen3:8b', { ndjson: chatLine('qwen3:8b', { content: 'never' }), pauseAfter: { lines: 0, ms: 5_000 } });
    const result = await post('/v1/chat/completions', { model: 'qwen3:8b', messages: user, stream: true });
    ollama.clearScripts();
    expect(result.status).toBe(504);
    expect(JSON.parse(result.text).error).toMatchObject({ code: 'upstream_timeout', message: 'Ollama went silent mid-answer (body timeout)' });
  });

  it('/v1/chat/completions through the IR after the first byte: an SSE error event, no [DONE]', async () => {
    const ndjson = chatLine('qwen3:8b', { content: 'Hello' }) + chatLine('qwen3:8b', { content: ' there' }) + chatLine('qwen3:8b', {}, { done: true, done_reason: 'stop' });
    ollama.script('qwen3:8b', { ndjson, pauseAfter: { lines: 2, ms: 5_000 } });
    const result = await post('/v1/chat/completions', { model: 'qwen3:8b', messages: user, stream: true });
    ollama.clearScripts();
    expect(result.status).toBe(200);
    const events = dataEvents(result.text);
    expect(events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('')).toBe('Hello there');
    expect(events.at(-1)).toEqual({ error: { message: 'Ollama went silent mid-answer (body timeout)', type: 'api_error', param: null, code: 'upstream_timeout' } });
    expect(result.text).not.toContain('[DONE]');
  });
});

describe('model management on an upstream Ollama is never cut by the timeouts', () => {
  it('a non-stream pull that answers only when done, after longer than both timeouts', async () => {
    ollama.script('big-model', { route: '/api/pull', headersDelayMs: WELL_PAST_IDLE_MS });
    const result = await post('/api/pull', { model: 'big-model', stream: false });
    ollama.clearScripts();
    expect(result).toMatchObject({ status: 200 });
    expect(JSON.parse(result.text)).toEqual({ status: 'success' });
  });

  it('a streamed pull with a pause longer than the idle timeout (verifying a large blob)', async () => {
    ollama.script('bigger-model', { route: '/api/pull', pauseAfter: { lines: 4, ms: WELL_PAST_IDLE_MS } });
    const result = await post('/api/pull', { model: 'bigger-model' });
    ollama.clearScripts();
    expect(result.status).toBe(200);
    expect(parseNdjson(result.text).at(-1)).toEqual({ status: 'success' });
  });
});

describe('the default', () => {
  it('is well under two minutes', () => {
    const config = loadConfig({ overrides: { OPENROUTER_API_KEY: 'sk-or-v1-x' }, envFile: false, readProcessEnv: false });
    expect(config.UPSTREAM_BODY_TIMEOUT_MS).toBe(60_000);
  });
});
