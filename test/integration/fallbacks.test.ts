/**
 * Retries, fallbacks, circuit breakers and provider routing (issue 16) over real HTTP, the
 * gateway in front of a fake OpenRouter and a fake Ollama whose models fail on cue: each
 * retryable status and fault falls back, each client error does not, nothing falls back after
 * the first byte, a fallback the key may not use is skipped, Retry-After is honoured up to
 * its bound, the breaker opens, skips and closes, provider routing reaches OpenRouter as
 * written, and the model that served is named in the header, the ledger and the log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { CircuitBreakers } from '../../src/core/circuit-breakers.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { SSE_COMMENT, SSE_DONE, sseChunk, startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

class LogCapture extends Writable {
  lines: Array<Record<string, any>> = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    callback();
  }
}

const PRIMARY = 'openai/gpt-4o';
const FALLBACK = 'openai/gpt-4.1';
/** Retries once before its fallback. */
const RETRIED = 'deepseek/deepseek-chat-v3:free';
/** Its first fallback is one the limited key may not use, its second is not served at all. */
const GUARDED = 'meta-llama/llama-3.3-70b-instruct';
const ROUTED = 'mistralai/mistral-small';
/** An OpenRouter model whose fallback is an Ollama model. */
const TO_OLLAMA = 'thirdparty/mistral-small';
/** An Ollama model (passed through as it is) whose fallback is an OpenRouter model. */
const FROM_OLLAMA = 'qwen3:8b';

const MODELS_CONFIG = `
provider:
  data_collection: deny
models:
  ${PRIMARY}:
    fallbacks: [${FALLBACK}]
  ${RETRIED}:
    retries: 1
    fallbacks: [${FALLBACK}]
  ${GUARDED}:
    fallbacks: [anthropic/claude-sonnet-4.5, not/served, ${FALLBACK}]
  ${ROUTED}:
    provider: { sort: price, order: [mistral], allow_fallbacks: false, max_price: { prompt: 1 } }
  ${TO_OLLAMA}:
    fallbacks: [llama3.2]
  ${FROM_OLLAMA}:
    fallbacks: [${FALLBACK}]
`;

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let directory: string;
const logs = new LogCapture();
const records: UsageRecord[] = [];
const keys: Record<string, string> = {};
/** The waits the gateway asked for between tries (they take no time here). */
let waits: number[] = [];
let clock = 0;

/** Answers as the fallback model, naming itself as OpenRouter does. */
const FALLBACK_ANSWER = SSE_COMMENT + sseChunk({ role: 'assistant', content: 'from the fallback' }, null, { model: FALLBACK }) + sseChunk({ role: 'assistant', content: '' }, 'stop', { model: FALLBACK }) + SSE_DONE;
const PRIMARY_ANSWER = textStream(['from the primary']);
const IN_BAND_ERROR = SSE_COMMENT + `data: ${JSON.stringify({ id: 'gen-1', object: 'chat.completion.chunk', model: PRIMARY, error: { code: 502, message: 'Provider disconnected unexpectedly' }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] })}\n\n`;

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  directory = mkdtempSync(join(tmpdir(), 'fallbacks-'));
  const keysFile = join(directory, 'keys.json');
  const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
  keys.all = lastLine(createKeyCommand({ keysFile, name: 'all' }));
  keys.limited = lastLine(createKeyCommand({ keysFile, name: 'limited', models: ['meta-llama/*', 'openai/*'] }));
  const modelsConfig = join(directory, 'models.yaml');
  writeFileSync(modelsConfig, MODELS_CONFIG);
  gateway = await startGateway(
    openRouter.baseUrl,
    { OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: keysFile, MODELS_CONFIG: modelsConfig, LOG_LEVEL: 'info', METRICS_PUBLIC: true, UPSTREAM_HEADERS_TIMEOUT_MS: 400 },
    { logDestination: logs },
  );
  gateway.app.usageEvents.subscribe((record) => records.push(record));
});
afterAll(async () => {
  await gateway?.close();
  await openRouter?.close();
  await ollama?.close();
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
});
beforeEach(() => {
  // Each test starts with closed circuits, a clock of its own and waits that take no time.
  waits = [];
  clock = 1_000_000;
  const policy = gateway.app.upstreamTries;
  policy.circuits = new CircuitBreakers({ now: () => clock });
  policy.random = () => 0;
  policy.now = () => clock;
  policy.sleep = async (milliseconds) => {
    waits.push(milliseconds);
    clock += milliseconds;
  };
  openRouter.script(PRIMARY, { sse: PRIMARY_ANSWER });
  openRouter.script(FALLBACK, { sse: FALLBACK_ANSWER });
  openRouter.script(RETRIED, { sse: PRIMARY_ANSWER });
  openRouter.script(GUARDED, { sse: PRIMARY_ANSWER });
});

async function post(path: string, body: Record<string, unknown>, key = keys.all!): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const chat = (model: string, extra: Record<string, unknown> = {}, key?: string) => post('/api/chat', { model, messages: [{ role: 'user', content: 'hi' }], ...extra }, key);
const chatRequestsFor = (model: string): number => openRouter.chatRequests().filter((record) => record.body?.model === model).length;

describe('what falls back', () => {
  it.each([408, 429, 500, 502, 503, 504, 529])('an upstream %i before the answer falls back to the next model', async (status) => {
    openRouter.script(PRIMARY, { status });
    const before = chatRequestsFor(FALLBACK);
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    const lines = parseNdjson(answer.text);
    // The body keeps the name the client asked for.
    for (const line of lines) expect(line.model).toBe(PRIMARY);
    expect(lines.map((line) => line.message?.content ?? '').join('')).toBe('from the fallback');
    expect(chatRequestsFor(FALLBACK)).toBe(before + 1);
  });

  it.each([400, 401, 403, 404, 413, 422])('an upstream %i does not fall back: the client gets the error', async (status) => {
    openRouter.script(PRIMARY, { status });
    const before = chatRequestsFor(FALLBACK);
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(status === 401 ? 502 : status);
    expect(JSON.parse(answer.text)).toHaveProperty('error');
    expect(answer.headers.get('x-ollama-bridge-model')).toBeNull();
    expect(chatRequestsFor(FALLBACK)).toBe(before);
  });

  it('an upstream that cannot be reached falls back', async () => {
    openRouter.script(PRIMARY, { closeBeforeHeaders: true });
    const answer = await chat(PRIMARY, { stream: false });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(JSON.parse(answer.text)).toMatchObject({ model: PRIMARY, message: { content: 'from the fallback' } });
  });

  it('an upstream that sends no headers in time falls back', async () => {
    openRouter.script(PRIMARY, { headersDelayMs: 2_000 });
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
  });

  it('an in-band error before the first token falls back', async () => {
    openRouter.script(PRIMARY, { sse: IN_BAND_ERROR });
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(parseNdjson(answer.text).map((line) => line.message?.content ?? '').join('')).toBe('from the fallback');
  });

  it('nothing falls back after the first byte: the answer ends with an in-band error', async () => {
    openRouter.script(PRIMARY, { sse: SSE_COMMENT + sseChunk({ role: 'assistant', content: 'partial' }) + IN_BAND_ERROR.slice(SSE_COMMENT.length) });
    const before = chatRequestsFor(FALLBACK);
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(PRIMARY);
    const lines = parseNdjson(answer.text);
    expect(lines[0].message.content).toBe('partial');
    expect(lines.at(-1)).toEqual({ error: 'Provider disconnected unexpectedly' });
    expect(chatRequestsFor(FALLBACK)).toBe(before);
  });

  it('when every model fails, the client gets the last upstream error in its dialect', async () => {
    openRouter.script(PRIMARY, { status: 503 });
    openRouter.script(FALLBACK, { status: 429, headers: { 'retry-after': '7' }, body: { error: { code: 429, message: 'fallback rate limited' } } });
    const ollamaAnswer = await chat(PRIMARY);
    expect(ollamaAnswer.status).toBe(429);
    expect(JSON.parse(ollamaAnswer.text)).toEqual({ error: 'fallback rate limited' });
    const openAiAnswer = await post('/v1/chat/completions', { model: PRIMARY, messages: [{ role: 'user', content: 'hi' }] });
    expect(openAiAnswer.status).toBe(429);
    expect(JSON.parse(openAiAnswer.text).error).toMatchObject({ message: 'fallback rate limited', type: 'rate_limit_error' });
  });
});

describe('retries and Retry-After', () => {
  /** The model fails `times` times with this script, then answers. */
  const failFirst = (times: number, failure: Parameters<FakeOpenRouter['script']>[1]): void => {
    let calls = 0;
    openRouter.script(RETRIED, (body) => (calls++ < times ? (typeof failure === 'function' ? failure(body) : failure) : { sse: PRIMARY_ANSWER }));
  };

  it('retries the same model after a backoff before its fallbacks', async () => {
    failFirst(1, { status: 502 });
    const answer = await chat(RETRIED);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(RETRIED);
    expect(waits).toEqual([125]);
  });

  it('honours a Retry-After within --retry-max-wait', async () => {
    failFirst(1, { status: 429, headers: { 'retry-after': '2' } });
    const answer = await chat(RETRIED);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(RETRIED);
    expect(waits).toEqual([2_000]);
  });

  it('moves to the fallback at once when the Retry-After is longer than --retry-max-wait', async () => {
    failFirst(1, { status: 429, headers: { 'retry-after': '60' } });
    const answer = await chat(RETRIED);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(waits).toEqual([]);
  });
});

describe('a fallback passes the same checks', () => {
  it('a fallback the key may not use (or the catalog does not serve) is skipped and logged, never used', async () => {
    openRouter.script(GUARDED, { status: 503 });
    const forbidden = chatRequestsFor('anthropic/claude-sonnet-4.5');
    const answer = await chat(GUARDED, {}, keys.limited);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(chatRequestsFor('anthropic/claude-sonnet-4.5')).toBe(forbidden);
    const skipped = logs.lines.filter((line) => line.model === GUARDED && typeof line.fallback === 'string').map((line) => line.msg);
    expect(skipped).toEqual(expect.arrayContaining([
      `fallback anthropic/claude-sonnet-4.5 of ${GUARDED} skipped: this API key may not use model 'anthropic/claude-sonnet-4.5'`,
      `fallback not/served of ${GUARDED} skipped: model 'not/served' not found`,
    ]));
  });

  it('a fallback that names no served model is a warning when the models config loads', () => {
    const warning = logs.lines.find((line) => line.fallback === 'not/served' && line.level === 40);
    expect(warning?.msg).toMatch(/^models config .*models\.yaml line 11 \(models\.meta-llama\/llama-3\.3-70b-instruct\.fallbacks\): the fallback "not\/served" names no model; it is skipped$/);
  });

  it('the key that may use it gets the first fallback', async () => {
    openRouter.script(GUARDED, { status: 503 });
    const answer = await chat(GUARDED);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe('anthropic/claude-sonnet-4.5');
  });
});

describe('across backends', () => {
  it('an OpenRouter model falls back to an Ollama model through the Ollama adapter', async () => {
    openRouter.script(TO_OLLAMA, { status: 503 });
    const answer = await chat(TO_OLLAMA);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe('llama3.2:latest');
    const lines = parseNdjson(answer.text);
    for (const line of lines) expect(line.model).toBe(TO_OLLAMA);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest' });
  });

  it("an Ollama model passed through falls back to an OpenRouter model, in Ollama's dialect", async () => {
    ollama.script(FROM_OLLAMA, { status: 503, body: { error: 'server busy' } });
    const answer = await chat(FROM_OLLAMA);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    const lines = parseNdjson(answer.text);
    for (const line of lines) expect(line.model).toBe(FROM_OLLAMA);
    expect(lines.at(-1)).toMatchObject({ done: true });
    expect(openRouter.chatRequests().at(-1)!.body.model).toBe(FALLBACK);
  });

  it("an Ollama stream whose first line is Ollama's error falls back too", async () => {
    ollama.script(FROM_OLLAMA, { ndjson: '{"error":"llama runner process has terminated"}\n' });
    const answer = await chat(FROM_OLLAMA);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(parseNdjson(answer.text).at(-1)).toMatchObject({ model: FROM_OLLAMA, done: true });
  });

  it('an Ollama model with fallbacks that answers is still passed through byte for byte, streamed and not', async () => {
    ollama.script(FROM_OLLAMA, {});
    const streamed = await chat(FROM_OLLAMA);
    expect(streamed.headers.get('x-ollama-bridge-model')).toBe(FROM_OLLAMA);
    expect(Buffer.concat(ollama.requestsTo('/api/chat').at(-1)!.written).toString('utf8')).toBe(streamed.text);
    const whole = await chat(FROM_OLLAMA, { stream: false });
    expect(whole.headers.get('x-ollama-bridge-model')).toBe(FROM_OLLAMA);
    expect(Buffer.concat(ollama.requestsTo('/api/chat').at(-1)!.written).toString('utf8')).toBe(whole.text);
  });

  it('loading a model has no fallback: the model itself answers, and no fallback is looked at', async () => {
    ollama.script(FROM_OLLAMA, {});
    const firstLine = logs.lines.length;
    const answer = await post('/api/generate', { model: FROM_OLLAMA });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ model: FROM_OLLAMA, done: true, done_reason: 'load' });
    expect(logs.lines.slice(firstLine).filter((line) => line.fallback !== undefined)).toEqual([]);
  });

  it('an Ollama model alone still relays its own error status as it is', async () => {
    ollama.script('llama3.2', { status: 503, body: { error: 'server busy' } });
    try {
      const answer = await chat('llama3.2');
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: 'server busy' });
    } finally {
      ollama.script('llama3.2', {});
    }
  });
});

describe('every front door', () => {
  beforeEach(() => openRouter.script(PRIMARY, { status: 503 }));

  it.each([
    ['/api/generate', { model: PRIMARY, prompt: 'hi' }],
    ['/api/generate', { model: PRIMARY, prompt: 'hi', stream: false }],
    ['/v1/chat/completions', { model: PRIMARY, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/chat/completions', { model: PRIMARY, messages: [{ role: 'user', content: 'hi' }], stream: true }],
    ['/v1/completions', { model: PRIMARY, prompt: 'hi' }],
    ['/v1/messages', { model: PRIMARY, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }],
    ['/v1/messages', { model: PRIMARY, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], stream: true }],
    ['/v1/responses', { model: PRIMARY, input: 'hi', store: false }],
    ['/v1/responses', { model: PRIMARY, input: 'hi', store: false, stream: true }],
  ])('%s %j answers from the fallback and names it', async (path, body) => {
    const answer = await post(path, body);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(answer.text).toContain('from the fallback');
    expect(answer.text).toContain(PRIMARY);
    expect(answer.text).not.toContain(FALLBACK);
  });

  it('names the model that served when nothing fell back too', async () => {
    openRouter.script(PRIMARY, { sse: PRIMARY_ANSWER });
    const answer = await post('/v1/chat/completions', { model: PRIMARY, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(PRIMARY);
    const passedThrough = await chat('llama3.2');
    expect(passedThrough.headers.get('x-ollama-bridge-model')).toBe('llama3.2:latest');
  });

  it('names the embedding model too (embeddings have no fallbacks: another model is another vector space)', async () => {
    expect((await post('/api/embed', { model: 'openai/text-embedding-3-small', input: 'hi' })).headers.get('x-ollama-bridge-model')).toBe('openai/text-embedding-3-small');
    expect((await post('/api/embeddings', { model: 'openai/text-embedding-3-small', prompt: 'hi' })).headers.get('x-ollama-bridge-model')).toBe('openai/text-embedding-3-small');
    expect((await post('/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'hi' })).headers.get('x-ollama-bridge-model')).toBe('openai/text-embedding-3-small');
  });

  it('the real ollama and openai clients get the fallback\'s answer', async () => {
    const ollamaClient = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${keys.all}` } });
    const ollamaAnswer = await ollamaClient.chat({ model: PRIMARY, messages: [{ role: 'user', content: 'hi' }] });
    expect(ollamaAnswer.message.content).toBe('from the fallback');
    expect(ollamaAnswer.model).toBe(PRIMARY);
    const openAiClient = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keys.all!, maxRetries: 0 });
    const { data, response } = await openAiClient.chat.completions.create({ model: PRIMARY, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('from the fallback');
    expect(response.headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    const stream = await openAiClient.chat.completions.create({ model: PRIMARY, messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from the fallback');
  });
});

describe("Ollama's durations", () => {
  it('still split at the moment the upstream accepted the call, not at its first token', async () => {
    openRouter.script(FALLBACK, { sse: FALLBACK_ANSWER, pauseAfter: { pieces: 1, ms: 300 } });
    const answer = JSON.parse((await chat(FALLBACK, { stream: false })).text);
    expect(answer.load_duration).toBeLessThan(250_000_000);
    expect(answer.prompt_eval_duration).toBeGreaterThanOrEqual(250_000_000);
  });
});

describe('never a silent swap', () => {
  it('the ledger and the log line name the model that served; each failed try is logged with why', async () => {
    openRouter.script(PRIMARY, { sse: IN_BAND_ERROR });
    records.length = 0;
    const firstLine = logs.lines.length;
    const answer = await chat(PRIMARY);
    expect(answer.status).toBe(200);
    await expect.poll(() => records.length).toBe(1);
    expect(records[0]).toMatchObject({ modelRequested: PRIMARY, modelServed: FALLBACK, backend: 'openrouter', status: 200, outcome: 'completed' });
    const lines = logs.lines.slice(firstLine);
    expect(lines.find((line) => line.try === 1)).toMatchObject({ model: PRIMARY, backend: 'openrouter', status: 502, msg: `try 1 of ${PRIMARY} failed (502: Provider disconnected unexpectedly); no try left`.replace('no try left', 'trying the next fallback') });
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({ model: PRIMARY, modelServed: FALLBACK });
  });
});

describe('provider routing', () => {
  it("reaches OpenRouter as written, over the file's default, on the IR and on the relay", async () => {
    await chat(ROUTED);
    const expected = { data_collection: 'deny', sort: 'price', order: ['mistral'], allow_fallbacks: false, max_price: { prompt: 1 } };
    expect(openRouter.chatRequests().at(-1)!.body.provider).toEqual(expected);
    await post('/v1/chat/completions', { model: ROUTED, messages: [{ role: 'user', content: 'hi' }] });
    expect(openRouter.chatRequests().at(-1)!.body.provider).toEqual(expected);
    // The client's own narrowing fields fill in what the operator left unset.
    await post('/v1/chat/completions', { model: ROUTED, messages: [{ role: 'user', content: 'hi' }], provider: { zdr: true, data_collection: 'allow', order: ['cheap'] } });
    expect(openRouter.chatRequests().at(-1)!.body.provider).toEqual({ ...expected, zdr: true });
  });

  it('a model without its own gets the default provider object', async () => {
    await chat('openai/gpt-4.1');
    expect(openRouter.chatRequests().at(-1)!.body.provider).toEqual({ data_collection: 'deny' });
  });
});

describe('circuit breaker', () => {
  it('opens after repeated failures, skips the model, shows in /health/ready and /metrics, and closes after a good half-open try', async () => {
    openRouter.script(PRIMARY, { status: 503 });
    for (let request = 0; request < 3; request++) expect((await chat(PRIMARY)).headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    const triedBefore = chatRequestsFor(PRIMARY);
    expect((await chat(PRIMARY)).headers.get('x-ollama-bridge-model')).toBe(FALLBACK);
    expect(chatRequestsFor(PRIMARY)).toBe(triedBefore);
    expect(logs.lines.some((line) => line.msg === `skipped ${PRIMARY}: its circuit is open after repeated failures`)).toBe(true);

    const ready: any = await (await fetch(`${gateway.url}/health/ready`)).json();
    expect(ready.status).toBe('ready');
    expect(ready.circuits).toEqual([{ backend: 'openrouter', model: PRIMARY, state: 'open', failures: 3, retry_in_seconds: 10, last_error: 'scripted error' }]);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toContain(`ollama_bridge_circuit_state{backend="openrouter",model="${PRIMARY}",state="open"} 1`);
    expect(metrics).toContain(`ollama_bridge_circuit_state{backend="openrouter",model="${PRIMARY}",state="closed"} 0`);

    clock += 10_000;
    openRouter.script(PRIMARY, { sse: PRIMARY_ANSWER });
    expect((await chat(PRIMARY)).headers.get('x-ollama-bridge-model')).toBe(PRIMARY);
    expect(((await (await fetch(`${gateway.url}/health/ready`)).json()) as any).circuits).toEqual([]);
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).not.toContain('ollama_bridge_circuit_state{');
  });

  it('never refuses a model on its own: with no fallback left, an open circuit is tried anyway', async () => {
    const policy = gateway.app.upstreamTries;
    for (let failure = 0; failure < 3; failure++) policy.circuits.failed('openrouter', ROUTED, 'down', false);
    const answer = await chat(ROUTED);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ollama-bridge-model')).toBe(ROUTED);
  });
});
