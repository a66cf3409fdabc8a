/**
 * /v1/chat/completions over OpenRouter, which already speaks this dialect: the upstream's
 * bytes reach the client unchanged unless something must be translated (reasoning mirrored
 * into reasoning_content, error events in OpenAI's shape, a missing [DONE] made an error),
 * with model resolution, status mapping and abort propagation still in place.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpenAiChatCompletion, OpenAiChatCompletionChunk, OpenAiErrorResponse } from '../../schemas/openai.js';
import {
  DEFAULT_MODELS,
  SSE_COMMENT,
  loadFixture,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  type FakeModel,
  type FakeOpenRouter,
} from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { dataEvents } from '../helpers/sse.js';

const OA_MODELS: FakeModel[] = 'abcdefghijklmnopqrstuvwxyz'.split('').map((letter) => ({
  id: `oa/m-${letter}`,
  context_length: 8192,
  tools: true,
  reasoning: true,
  created: 1600000000,
}));

let fake: FakeOpenRouter;
let gateway: TestGateway;
let impatient: TestGateway;
let wrongKey: TestGateway;
let filtered: TestGateway;
let filterDir: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, ...OA_MODELS] });
  filterDir = mkdtempSync(join(tmpdir(), 'openai-filter-'));
  writeFileSync(join(filterDir, 'filter.txt'), 'openai/*\n');
  [gateway, impatient, wrongKey, filtered] = await Promise.all([
    startGateway(fake.baseUrl),
    startGateway(fake.baseUrl, { UPSTREAM_BODY_TIMEOUT_MS: 300 }),
    startGateway(fake.baseUrl, { OPENROUTER_API_KEY: 'sk-or-v1-revoked' }),
    startGateway(fake.baseUrl, { MODELS_FILTER: join(filterDir, 'filter.txt') }),
  ]);
});
afterAll(async () => {
  // After an abort, the client may keep a connection it never sent a request on; close() would wait for it.
  for (const on of [gateway, impatient, wrongKey, filtered]) on?.app.server.closeAllConnections();
  await Promise.all([gateway?.close(), impatient?.close(), wrongKey?.close(), filtered?.close()]);
  await fake?.close();
  rmSync(filterDir, { recursive: true, force: true });
});

const user = [{ role: 'user', content: 'hi' }];

async function post(body: Record<string, unknown>, on: TestGateway = gateway) {
  const response = await request(`${on.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

const withUsage = { stream_options: { include_usage: true } };
const stream = (model: string, extra: Record<string, unknown> = {}, on?: TestGateway) => post({ model, messages: user, stream: true, ...extra }, on);

/** The upstream's bytes as the client gets them: the same, but for the model named as the client named it. */
function echoed(upstream: string, model: string): string {
  return upstream.replace(/"model":"(?:[^"\\]|\\.)*"/g, `"model":${JSON.stringify(model)}`);
}

function lastRequestFor(model: string) {
  return fake.chatRequests().filter((record) => record.body?.model === model).at(-1)!;
}

describe('passthrough streaming', () => {
  it("sends the client exactly the upstream's bytes, keep-alive comments included, the model named as the client named it", async () => {
    const sse = SSE_COMMENT + SSE_COMMENT + textStream(['Bonjour', ' le', ' monde — ça va ? 🌍'], 'stop', [9, 3]);
    fake.script('oa/m-a', { sse });
    const response = await stream('oa/m-a', { stream_options: { include_usage: true } });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(response.text).toBe(echoed(sse, 'oa/m-a'));
    expect(sse).toContain('"model":"fake/model-20260101"');
    for (const event of dataEvents(response.text)) if (event !== '[DONE]') OpenAiChatCompletionChunk.parse(event);
  });

  it('keeps recorded fixtures byte-identical but for the model name (text, tool calls, usage shapes)', async () => {
    for (const name of ['text', 'tool-call', 'parallel-tool-calls', 'usage-shape-2', 'length']) {
      const response = await stream(`fixture/${name}`, withUsage);
      expect(response.text, name).toBe(echoed(loadFixture(name), `fixture/${name}`));
    }
  });

  it('drops the usage-only chunk OpenRouter always sends when the client did not ask for usage', async () => {
    const events = dataEvents((await stream('fixture/text')).text);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.some((event) => typeof event === 'object' && Array.isArray(event.choices) && event.choices.length === 0)).toBe(false);
    const withIt = dataEvents((await stream('fixture/text', withUsage)).text);
    expect(withIt.at(-2)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 3 } });
  });

  it('adds reasoning_content to reasoning chunks only, leaving every other byte alone', async () => {
    const source = loadFixture('reasoning');
    const response = await stream('fixture/reasoning', withUsage);
    const expected = echoed(source, 'fixture/reasoning').replace(/"reasoning":("(?:[^"\\]|\\.)*")/g, '"reasoning":$1,"reasoning_content":$1');
    expect(response.text).toBe(expected);
    const first = dataEvents(response.text)[0];
    expect(first.choices[0].delta).toMatchObject({ reasoning: 'Two plus two', reasoning_content: 'Two plus two' });
  });

  it('relays correctly whatever the upstream framing: byte by byte, random cuts, glued, CRLF', async () => {
    const sse = textStream(['Hel', 'lo ', 'wörld ', '🌍'], 'stop', [3, 4]);
    for (const writeMode of ['bytes', 'glued', { randomSeed: 11, maxPiece: 7 }, { randomSeed: 5, maxPiece: 200 }] as const) {
      fake.script('oa/m-b', { sse, writeMode });
      expect((await stream('oa/m-b', withUsage)).text, JSON.stringify(writeMode)).toBe(echoed(sse, 'oa/m-b'));
    }
    const crlf = loadFixture('crlf');
    for (const writeMode of ['bytes', 'event'] as const) {
      fake.script('oa/m-c', { sse: crlf, writeMode });
      const response = await stream('oa/m-c', withUsage);
      expect(response.text).toBe(echoed(crlf, 'oa/m-c'));
      expect(dataEvents(response.text).at(-1)).toBe('[DONE]');
    }
  });

  it('ends a truncated upstream stream with an in-band error event, never [DONE]', async () => {
    const response = await stream('fixture/truncated');
    expect(response.status).toBe(200);
    expect(response.text.startsWith(echoed(loadFixture('truncated'), 'fixture/truncated'))).toBe(true);
    expect(response.text).not.toContain('[DONE]');
    const last = dataEvents(response.text).at(-1);
    expect(OpenAiErrorResponse.parse(last).error).toMatchObject({ message: 'OpenRouter ended the stream without finishing the answer', type: 'api_error' });
  });

  it('ends with an in-band error event when the upstream socket is reset mid-stream', async () => {
    // The trailing comment gives the data event time to leave before the socket is destroyed.
    fake.script('oa/m-d', { sse: SSE_COMMENT + sseChunk({ role: 'assistant', content: 'partial' }) + SSE_COMMENT, delayMs: 30, destroyAfter: true });
    const response = await stream('oa/m-d');
    expect(response.status).toBe(200);
    const events = dataEvents(response.text);
    expect(events[0].choices[0].delta.content).toBe('partial');
    expect(OpenAiErrorResponse.parse(events.at(-1)).error.type).toBe('api_error');
    expect(response.text).not.toContain('[DONE]');
  });

  it('ends with an in-band timeout error when the upstream goes silent mid-stream', async () => {
    fake.script('oa/m-e', { sse: textStream(['a', 'b', 'c', 'd']), pauseAfter: { pieces: 3, ms: 2000 } });
    const response = await stream('oa/m-e', {}, impatient);
    expect(response.status).toBe(200);
    const last = dataEvents(response.text).at(-1);
    expect(last.error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('went silent') });
  });

  it('rewrites a mid-stream upstream error event into OpenAI shape and stops there', async () => {
    const response = await stream('fixture/error-mid-stream');
    expect(response.status).toBe(200);
    const events = dataEvents(response.text);
    expect(events[0].choices[0].delta.content).toBe('partial answ');
    expect(OpenAiErrorResponse.parse(events.at(-1))).toEqual({
      error: { message: 'Provider disconnected unexpectedly', type: 'api_error', param: null, code: 'upstream_error' },
    });
    expect(response.text).not.toContain('[DONE]');
  });

  it('answers an error that arrives before the first token with its HTTP status', async () => {
    const response = await stream('fixture/error-legacy');
    expect(response.status).toBe(429);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error).toMatchObject({
      type: 'rate_limit_error',
      message: expect.stringContaining('Rate limit exceeded: free-models-per-day'),
    });
  });

  it('propagates a client abort to the upstream request', async () => {
    fake.script('oa/m-f', { sse: textStream(Array.from({ length: 200 }, (_, index) => `w${index} `)), delayMs: 20 });
    const controller = new AbortController();
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'oa/m-f', messages: user, stream: true }),
      signal: controller.signal,
    });
    const iterator = response.body[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await iterator.return?.().catch(() => undefined);
    const record = lastRequestFor('oa/m-f');
    await Promise.race([record.settled, new Promise((resolve) => setTimeout(resolve, 3000))]);
    expect(record.aborted).toBe(true);
  });
});

describe('passthrough request', () => {
  it('resolves short and :latest names and sends the allow-listed fields, without Ollama knobs or unknown fields', async () => {
    // A thinking model: `think` on one without the capability is a 400 (think-capability.test.ts).
    const body = {
      model: 'Claude-Sonnet-4.5:latest', messages: user, stream: true, temperature: 0.3, max_completion_tokens: 50,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
      stream_options: { include_usage: true }, think: 'high', keep_alive: '10m', num_ctx: 4096, options: { num_ctx: 4096 },
      custom_extra: { kept: true },
    };
    expect((await post(body)).status).toBe(200);
    const sent = lastRequestFor('anthropic/claude-sonnet-4.5').body;
    expect(sent).toEqual({
      model: 'anthropic/claude-sonnet-4.5', messages: user, stream: true, temperature: 0.3, max_completion_tokens: 50,
      tools: body.tools, stream_options: { include_usage: true }, reasoning_effort: 'high',
    });
  });

  it('answers an unknown model with an OpenAI-shaped 404, before calling upstream', async () => {
    const before = fake.chatRequests().length;
    const response = await stream('nobody/nothing');
    expect(response.status).toBe(404);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text))).toEqual({
      error: { message: "model 'nobody/nothing' not found", type: 'not_found_error', param: null, code: 'model_not_found' },
    });
    expect(fake.chatRequests().length).toBe(before);
  });

  it('applies the models filter', async () => {
    expect((await stream('openai/gpt-4o', {}, filtered)).status).toBe(200);
    expect((await stream('anthropic/claude-sonnet-4.5', {}, filtered)).status).toBe(404);
  });

  it('rejects tools on a model without tool support with a 400', async () => {
    const response = await stream('deepseek/deepseek-chat-v3:free', { tools: [{ type: 'function', function: { name: 'f' } }] });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).error.type).toBe('invalid_request_error');
  });

  it('maps upstream 429 (with Retry-After), 402 and 404 to the same status in OpenAI shape', async () => {
    fake.script('oa/m-g', { status: 429, body: { error: { message: 'Rate limit exceeded: free-models-per-min', code: 429 } }, headers: { 'retry-after': '7' } });
    const limited = await stream('oa/m-g');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect(JSON.parse(limited.text).error).toMatchObject({ type: 'rate_limit_error', message: 'Rate limit exceeded: free-models-per-min' });

    fake.script('oa/m-h', { status: 402, body: { error: { message: 'Insufficient credits', code: 402 } } });
    const broke = await post({ model: 'oa/m-h', messages: user });
    expect(broke.status).toBe(402);
    expect(OpenAiErrorResponse.parse(JSON.parse(broke.text)).error.message).toBe('Insufficient credits');

    fake.script('oa/m-i', { status: 404, body: { error: { message: 'No endpoints found that support tool use', code: 404 } } });
    expect((await stream('oa/m-i')).status).toBe(404);
  });

  it("answers 502 saying the OpenRouter key was refused when the gateway's own key gets a 401", async () => {
    const response = await stream('openai/gpt-4o', {}, wrongKey);
    expect(response.status).toBe(502);
    const error = OpenAiErrorResponse.parse(JSON.parse(response.text)).error;
    expect(error.message).toMatch(/OpenRouter refused the gateway's API key/);
    expect(error.type).toBe('api_error');
  });
});

describe('passthrough non-stream', () => {
  it("returns the upstream's chat.completion", async () => {
    const response = await post({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi there' }] });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = OpenAiChatCompletion.parse(JSON.parse(response.text));
    expect(body.choices[0]!.message.content).toBe('Echo from openai/gpt-4o: hi there');
    expect(lastRequestFor('openai/gpt-4o').body.stream).toBeUndefined();
  });

  it('strips the leading keep-alive whitespace and mirrors reasoning', async () => {
    const answer = { id: 'gen-1', object: 'chat.completion', created: 1767225600, model: 'oa/m-j', choices: [{ index: 0, message: { role: 'assistant', content: '4', reasoning: 'Two plus two' }, finish_reason: 'stop' }] };
    fake.script('oa/m-j', { body: answer, leadingWhitespace: '\n\n\n  ' });
    const response = await post({ model: 'oa/m-j', messages: user });
    expect(response.status).toBe(200);
    expect(response.text.startsWith('{')).toBe(true);
    expect(JSON.parse(response.text).choices[0].message).toEqual({ role: 'assistant', content: '4', reasoning: 'Two plus two', reasoning_content: 'Two plus two' });
  });

  it('answers a 200 that carries an error with the error code as status', async () => {
    fake.script('oa/m-k', { body: { error: { message: 'Provider returned error', code: 429, metadata: { raw: 'error code: 1015' } } }, leadingWhitespace: '\n\n' });
    const response = await post({ model: 'oa/m-k', messages: user });
    expect(response.status).toBe(429);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error.message).toBe('Provider returned error: error code: 1015');
  });

  it('answers a choice that finished with an error with its code as status', async () => {
    fake.script('oa/m-l', {
      body: { id: 'gen-2', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'partial answ' }, finish_reason: 'error', error: { code: 502, message: 'Provider disconnected mid-stream' } }] },
    });
    const response = await post({ model: 'oa/m-l', messages: user });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.text).error.message).toBe('Provider disconnected mid-stream');
  });
});
