/**
 * One UsageRecord per answered request on every path that can spend — translated over
 * OpenRouter and over Ollama, the native Ollama passthrough, the /v1 relay, /v1 over Ollama,
 * embeddings — streamed or not, completed, failed before or after the first byte, refused, or
 * cut off by the client; none for a request that did not authenticate. Every field is checked.
 * And one log line per answered request, with what it spent and never a key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordForPlainKey } from '../../src/auth/api-keys.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import {
  FAKE_GENERATION_ID,
  FAKE_SERVED_MODEL,
  SSE_COMMENT,
  SSE_DONE,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  type FakeOpenRouter,
} from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'usage-record-key';
const KEY_ID = recordForPlainKey(KEY, 'api-keys #1').id;
const KEY_NAME = 'api-keys #1';
/** The OpenRouter model whose answers carry reasoning and cached tokens and a reported cost. */
const DETAILED = 'openai/gpt-4o';
/** Answers slowly, for a client to hang up on. */
const SLOW = 'anthropic/claude-sonnet-4.5';
/** The fake OpenRouter's catalog price of every chat model: USD per token, as strings (fake-openrouter.ts). */
const CATALOG_PRICE = { prompt: 2.5, completion: 10 };

class LogCapture extends Writable {
  lines: Array<Record<string, any>> = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    callback();
  }
}

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let limited: TestGateway;
const logs = new LogCapture();
const records: UsageRecord[] = [];
const limitedRecords: UsageRecord[] = [];

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  openRouter.script(DETAILED, { sse: textStream(['Hello', ' there', '!'], 'stop', [12, 3], { reasoningTokens: 2, cachedTokens: 8, cost: 0.00042 }) });
  let slow = SSE_COMMENT + sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 30; index++) slow += sseChunk({ role: 'assistant', content: `word${index} ` });
  openRouter.script(SLOW, { sse: slow + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE, delayMs: 60 });
  const directory = mkdtempSync(join(tmpdir(), 'usage-record-'));
  const modelsConfig = join(directory, 'models.yaml');
  // A price alone leaves llama3.2 on the byte-for-byte passthrough.
  writeFileSync(modelsConfig, 'models:\n  llama3.2:\n    price: { prompt: 1, completion: 2 }\n  qwen3:8b:\n    price: { prompt: 0.5, completion: 4 }\n');
  gateway = await startGateway(
    openRouter.baseUrl,
    { OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_API_KEYS: KEY, MODELS_CONFIG: modelsConfig, LOG_LEVEL: 'info' },
    { logDestination: logs },
  );
  gateway.app.usageEvents.subscribe((record) => records.push(record));
  limited = await startGateway(openRouter.baseUrl, { BRIDGE_API_KEYS: KEY, RATE_LIMIT_RPM: 1 });
  limited.app.usageEvents.subscribe((record) => limitedRecords.push(record));
});
afterAll(async () => {
  await gateway?.close();
  await limited?.close();
  await openRouter?.close();
  await ollama?.close();
});

const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

async function post(path: string, body: unknown, target = gateway): Promise<{ status: number; text: string }> {
  const response = await request(`${target.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: response.statusCode, text: await response.body.text() };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The records emitted while `action` ran, once the first has come and a little more time has passed for a second one to show. */
async function recordsOf(action: () => Promise<unknown>, into = records): Promise<UsageRecord[]> {
  const before = into.length;
  await action();
  for (let waited = 0; into.length === before && waited < 3000; waited += 10) await sleep(10);
  await sleep(50);
  return into.slice(before);
}

/** The one record `action` produced. */
async function recordOf(action: () => Promise<unknown>, into = records): Promise<UsageRecord> {
  const produced = await recordsOf(action, into);
  expect(produced, 'one record per request').toHaveLength(1);
  return produced[0]!;
}

/** The fields every record has, whatever the path. */
function expectCommon(record: UsageRecord, route: string): void {
  expect(record.startedAt).toBeGreaterThan(Date.now() - 60_000);
  expect(record.startedAt).toBeLessThanOrEqual(Date.now());
  expect(record.keyId).toBe(KEY_ID);
  expect(record.keyName).toBe(KEY_NAME);
  expect(record.clientAddress).toBe('127.0.0.1');
  expect(record.method).toBe('POST');
  expect(record.route).toBe(route);
  expect(record.durationMs).toBeGreaterThan(0);
  if (record.timeToFirstTokenMs !== undefined) {
    expect(record.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(record.timeToFirstTokenMs).toBeLessThanOrEqual(record.durationMs);
  }
}

/** Every field of a record, the times aside (checked by expectCommon). */
function fields(record: UsageRecord): Record<string, unknown> {
  const { startedAt: _startedAt, durationMs: _durationMs, timeToFirstTokenMs, keyId: _keyId, keyName: _keyName, clientAddress: _address, method: _method, ...rest } = record;
  return { ...rest, timeToFirstToken: timeToFirstTokenMs !== undefined };
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'Say hello' }], ...extra });

describe('a record for each request, every field, on every path', () => {
  it('/api/chat streamed over OpenRouter', async () => {
    const record = await recordOf(() => post('/api/chat', chat('gpt-4o')));
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: 'gpt-4o', modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', status: 200, outcome: 'completed',
      finishReason: 'stop', promptTokens: 12, completionTokens: 3, reasoningTokens: 2, cachedTokens: 8, tokensEstimated: false,
      costUsd: 0.00042, generationId: FAKE_GENERATION_ID, timeToFirstToken: true,
    });
  });

  it('/api/chat not streamed over OpenRouter', async () => {
    const record = await recordOf(() => post('/api/chat', chat(DETAILED, { stream: false })));
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: DETAILED, modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', status: 200, outcome: 'completed',
      finishReason: 'stop', promptTokens: 12, completionTokens: 3, reasoningTokens: 2, cachedTokens: 8, tokensEstimated: false,
      costUsd: 0.00042, generationId: FAKE_GENERATION_ID, timeToFirstToken: true,
    });
  });

  it('/api/generate over OpenRouter, the finish reason as the IR says it', async () => {
    const record = await recordOf(() => post('/api/generate', { model: 'openai/gpt-4.1', prompt: 'one two three four five', options: { num_predict: 2 } }));
    expectCommon(record, '/api/generate');
    expect(fields(record)).toEqual({
      route: '/api/generate', modelRequested: 'openai/gpt-4.1', modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', status: 200, outcome: 'completed',
      finishReason: 'length', promptTokens: 23, completionTokens: 2, tokensEstimated: false,
      // The fake reports a millionth of a dollar per token.
      costUsd: 0.000001 * 25, generationId: FAKE_GENERATION_ID, timeToFirstToken: true,
    });
  });

  it('/api/embed over OpenRouter: the embeddings answer names its model and generation', async () => {
    const record = await recordOf(() => post('/api/embed', { model: 'openai/text-embedding-3-small', input: ['one two', 'three'] }));
    expectCommon(record, '/api/embed');
    expect(fields(record)).toEqual({
      route: '/api/embed', modelRequested: 'openai/text-embedding-3-small', modelServed: 'text-embedding-3-small', backend: 'openrouter', status: 200,
      outcome: 'completed', promptTokens: 3, completionTokens: 0, tokensEstimated: false, costUsd: 1e-7, generationId: 'gen-emb-1767225600-FakeFakeFakeFake',
      timeToFirstToken: false,
    });
  });

  it("the native Ollama passthrough, streamed: Ollama's counts, its model, the models config's price", async () => {
    let text = '';
    const record = await recordOf(async () => (text = (await post('/api/chat', chat('llama3.2'))).text));
    const final = JSON.parse(text.trim().split('\n').at(-1)!);
    expectCommon(record, '/api/chat');
    const [prompt, completion] = [final.prompt_eval_count as number, final.eval_count as number];
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: 'llama3.2', modelServed: 'llama3.2', backend: 'ollama', status: 200, outcome: 'completed',
      finishReason: 'stop', promptTokens: prompt, completionTokens: completion, tokensEstimated: false,
      costUsd: (prompt * 1 + completion * 2) / 1_000_000, timeToFirstToken: true,
    });
  });

  it("an upstream Ollama's own error status, passed through as it is (a 401 too: the client's key was fine)", async () => {
    ollama.script('llava:7b', { status: 401, body: { error: 'unauthorized' } });
    const record = await recordOf(async () => expect((await post('/api/chat', chat('llava:7b'))).status).toBe(401));
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: 'llava:7b', modelServed: 'llava:7b', backend: 'ollama', status: 401, outcome: 'failed', errorCode: 'UPSTREAM_ERROR',
      promptTokens: 0, completionTokens: 0, tokensEstimated: false, costUsd: 0, timeToFirstToken: false,
    });
  });

  it('the /v1 relay, streamed and not: the model OpenRouter served, not the name the client gets back', async () => {
    for (const stream of [true, false]) {
      let text = '';
      const record = await recordOf(async () => (text = (await post('/v1/chat/completions', chat('gpt-4o', { stream }))).text));
      // The client sees its own name for the model; the record keeps the upstream's.
      expect(text).toContain('"model":"gpt-4o"');
      expect(text).not.toContain(FAKE_SERVED_MODEL);
      expectCommon(record, '/v1/chat/completions');
      expect(fields(record), `stream ${stream}`).toEqual({
        route: '/v1/chat/completions', modelRequested: 'gpt-4o', modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', status: 200, outcome: 'completed',
        finishReason: 'stop', promptTokens: 12, completionTokens: 3, reasoningTokens: 2, cachedTokens: 8, tokensEstimated: false,
        costUsd: 0.00042, generationId: FAKE_GENERATION_ID, timeToFirstToken: true,
      });
    }
  });

  it('/v1 over Ollama (through the IR) and /v1/embeddings', async () => {
    const record = await recordOf(() => post('/v1/chat/completions', chat('qwen3:8b', { stream: true })));
    expectCommon(record, '/v1/chat/completions');
    const { promptTokens, completionTokens } = record;
    expect(promptTokens).toBeGreaterThan(0);
    expect(completionTokens).toBeGreaterThan(0);
    expect(fields(record)).toEqual({
      route: '/v1/chat/completions', modelRequested: 'qwen3:8b', modelServed: 'qwen3:8b', backend: 'ollama', status: 200, outcome: 'completed',
      finishReason: 'stop', promptTokens, completionTokens, tokensEstimated: false,
      costUsd: (promptTokens * 0.5 + completionTokens * 4) / 1_000_000, timeToFirstToken: true,
    });
    const embeddings = await recordOf(() => post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'a b c' }));
    expectCommon(embeddings, '/v1/embeddings');
    expect(fields(embeddings)).toMatchObject({ modelServed: 'text-embedding-3-small', backend: 'openrouter', promptTokens: 3, costUsd: 1e-7, outcome: 'completed', timeToFirstToken: false });
  });

  it('a stream the client hangs up on: aborted, estimated tokens, priced from the catalog', async () => {
    const record = await recordOf(async () => {
      const controller = new AbortController();
      const response = await request(`${gateway.url}/api/chat`, { method: 'POST', headers: auth, body: JSON.stringify(chat(SLOW)), signal: controller.signal });
      expect(response.statusCode).toBe(200);
      let received = '';
      for await (const chunk of response.body) {
        received += chunk.toString();
        if (received.split('\n').length > 3) break;
      }
      controller.abort();
    });
    expectCommon(record, '/api/chat');
    expect(record.promptTokens).toBeGreaterThan(0);
    expect(record.completionTokens).toBeGreaterThan(0);
    expect(record.completionTokens).toBeLessThan(30);
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: SLOW, modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', status: 200, outcome: 'aborted',
      promptTokens: record.promptTokens, completionTokens: record.completionTokens, tokensEstimated: true,
      costUsd: expect.closeTo((record.promptTokens * CATALOG_PRICE.prompt + record.completionTokens * CATALOG_PRICE.completion) / 1_000_000, 12),
      generationId: FAKE_GENERATION_ID, timeToFirstToken: true,
    });
  });

  it('an upstream error before the first byte: its status, failed, nothing spent', async () => {
    openRouter.script('meta-llama/llama-3.3-70b-instruct', { status: 503, body: { error: { message: 'no provider available', code: 503 } } });
    const record = await recordOf(async () => expect((await post('/api/chat', chat('meta-llama/llama-3.3-70b-instruct'))).status).toBe(503));
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: 'meta-llama/llama-3.3-70b-instruct', modelServed: 'meta-llama/llama-3.3-70b-instruct', backend: 'openrouter',
      status: 503, outcome: 'failed', errorCode: 'UPSTREAM_ERROR', promptTokens: 0, completionTokens: 0, tokensEstimated: false, costUsd: 0, timeToFirstToken: false,
    });
  });

  it('an upstream error after the first byte: status 200, failed in band, on the translated path and the relay', async () => {
    for (const path of ['/api/chat', '/v1/chat/completions']) {
      const record = await recordOf(async () => {
        const answer = await post(path, chat('fixture/error-mid-stream', { stream: true }));
        expect(answer.status).toBe(200);
        expect(answer.text).toContain('Provider disconnected unexpectedly');
      });
      expectCommon(record, path);
      expect(record, path).toMatchObject({ status: 200, outcome: 'failed', errorCode: 'UPSTREAM_ERROR', backend: 'openrouter', generationId: expect.stringMatching(/^gen-/) });
      expect(record.finishReason, path).toBeUndefined();
    }
  });

  it('a 404 for an unknown model, one record, no backend', async () => {
    const record = await recordOf(async () => expect((await post('/api/chat', chat('no-such/model'))).status).toBe(404));
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', modelRequested: 'no-such/model', status: 404, outcome: 'failed', errorCode: 'MODEL_NOT_FOUND',
      promptTokens: 0, completionTokens: 0, tokensEstimated: false, costUsd: 0, timeToFirstToken: false,
    });
  });

  it('a 429 rate-limit refusal, before the route runs (and before the body is read): one record', async () => {
    await recordOf(async () => expect((await post('/api/chat', chat('openai/gpt-4.1'), limited)).status).toBe(200), limitedRecords);
    const record = await recordOf(async () => expect((await post('/api/chat', chat('openai/gpt-4.1'), limited)).status).toBe(429), limitedRecords);
    expectCommon(record, '/api/chat');
    expect(fields(record)).toEqual({
      route: '/api/chat', status: 429, outcome: 'failed', errorCode: 'RATE_LIMITED',
      promptTokens: 0, completionTokens: 0, tokensEstimated: false, costUsd: 0, timeToFirstToken: false,
    });
  });

  it('no record for a request without a valid key (401), nor for a route that cannot spend', async () => {
    const produced = await recordsOf(async () => {
      const refused = await request(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' }, body: JSON.stringify(chat('gpt-4o')) });
      expect(refused.statusCode).toBe(401);
      await refused.body.text();
      const listing = await request(`${gateway.url}/api/tags`, { headers: auth });
      expect(listing.statusCode).toBe(200);
      await listing.body.text();
      // Something that is recorded, so the wait ends.
      await post('/api/chat', chat('no-such/model'));
    });
    expect(produced.map((record) => record.status)).toEqual([404]);
  });
});

describe('the log line', () => {
  const linesOf = (predicate: (line: Record<string, any>) => boolean) => logs.lines.filter((line) => line.msg === 'request completed' && predicate(line));

  it("one info line per answered request, with what it spent; Fastify's own pair is gone", async () => {
    const before = logs.lines.length;
    await recordOf(() => post('/v1/chat/completions', chat('gpt-4o')));
    const version = await request(`${gateway.url}/api/version`);
    await version.body.text();
    await sleep(50);
    const lines = logs.lines.slice(before);
    expect(lines.filter((line) => line.msg === 'incoming request')).toEqual([]);
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(2);
    const [recorded, plain] = completed as [Record<string, any>, Record<string, any>];
    expect(recorded).toMatchObject({
      level: 30, method: 'POST', url: '/v1/chat/completions', route: '/v1/chat/completions', status: 200, keyId: KEY_ID, outcome: 'completed',
      model: 'gpt-4o', modelServed: FAKE_SERVED_MODEL, backend: 'openrouter', finishReason: 'stop', promptTokens: 12, completionTokens: 3,
      reasoningTokens: 2, cachedTokens: 8, tokensEstimated: false, costUsd: 0.00042, generationId: FAKE_GENERATION_ID,
    });
    expect(recorded.durationMs).toBeGreaterThan(0);
    expect(recorded.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(plain).toMatchObject({ level: 30, method: 'GET', url: '/api/version', route: '/api/version', status: 200 });
    expect(plain.durationMs).toBeGreaterThanOrEqual(0);
    expect(plain).not.toHaveProperty('model');
    expect(plain).not.toHaveProperty('costUsd');
  });

  it('a line for refusals and unknown routes too; never the key, the prompt or the answer', async () => {
    const before = logs.lines.length;
    const refused = await request(`${gateway.url}/api/chat?api_key=${KEY}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat('gpt-4o')) });
    await refused.body.text();
    const unknown = await request(`${gateway.url}/api/nothing-here`, { headers: auth });
    await unknown.body.text();
    await post('/api/chat', chat('gpt-4o'));
    await sleep(100);
    const lines = logs.lines.slice(before);
    expect(linesOf((line) => lines.includes(line)).map((line) => [line.status, line.route])).toEqual([[401, '/api/chat'], [404, undefined], [200, '/api/chat']]);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('Say hello');
    expect(text).not.toContain('Hello there');
  });
});
