/**
 * Ollama's API as it is today (issue 15): reasoning efforts in Ollama's vocabulary on /v1,
 * and `logprobs` / `top_logprobs` on /api/chat and /api/generate, sent to OpenRouter and
 * answered in Ollama's shape (`logprobs: [{token, logprob, bytes, top_logprobs}]`), over
 * real HTTP with the fake OpenRouter and the real `ollama` client.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama, type Tool } from 'ollama';
import { OllamaChatResponse, OllamaGenerateResponse } from '../../schemas/ollama.js';
import { FAKE_SERVED_MODEL, SSE_DONE, usageChunk } from '../fakes/fake-openrouter.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { parseNdjson, startGateway, useGatewayOverFakeOpenRouter, type TestGateway } from '../helpers/gateway.js';

const setup = useGatewayOverFakeOpenRouter();

async function post(path: string, body: unknown) {
  const response = await request(`${setup.gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, text, json: () => JSON.parse(text) };
}

const messages = [{ role: 'user', content: 'hi' }];
const THINKING_MODEL = 'anthropic/claude-sonnet-4.5';

function lastSent(): Record<string, unknown> {
  return setup.fake.chatRequests().at(-1)!.body as Record<string, unknown>;
}

describe('reasoning efforts in Ollama\'s vocabulary on /v1/chat/completions', () => {
  it.each([
    ['none', 'none'],
    ['minimal', 'minimal'],
    ['low', 'low'],
    ['medium', 'medium'],
    ['high', 'high'],
    ['max', 'xhigh'],
    ['xhigh', 'xhigh'],
  ])('reasoning_effort and reasoning.effort %j reach OpenRouter as %j', async (effort, sent) => {
    expect((await post('/v1/chat/completions', { model: THINKING_MODEL, messages, reasoning_effort: effort })).status).toBe(200);
    expect(lastSent().reasoning_effort).toBe(sent);
    expect((await post('/v1/chat/completions', { model: THINKING_MODEL, messages, reasoning: { effort } })).status).toBe(200);
    expect(lastSent().reasoning).toEqual({ effort: sent });
  });

  it('refuses an effort Ollama does not know with a 400 in OpenAI\'s dialect, before going upstream', async () => {
    const before = setup.fake.chatRequests().length;
    for (const body of [{ reasoning_effort: 'extreme' }, { reasoning: { effort: 'extreme' } }]) {
      const answer = await post('/v1/chat/completions', { model: THINKING_MODEL, messages, ...body });
      expect(answer.status).toBe(400);
      expect(answer.json().error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('invalid reasoning effort: "extreme"') });
    }
    expect(setup.fake.chatRequests().length).toBe(before);
  });

  it('think "max" on /api/chat reaches OpenRouter as its strongest effort', async () => {
    expect((await post('/api/chat', { model: THINKING_MODEL, messages, think: 'max', stream: false })).status).toBe(200);
    expect(lastSent().reasoning).toEqual({ effort: 'xhigh' });
  });
});

/** OpenRouter's chunk with a logprobs entry per token (the OpenAI shape). */
function logprobChunk(tokens: string[], finishReason: string | null = null): string {
  const content = tokens.map((token, index) => ({
    token,
    logprob: -0.5 * (index + 1),
    bytes: [...Buffer.from(token)],
    top_logprobs: [
      { token, logprob: -0.5 * (index + 1), bytes: [...Buffer.from(token)] },
      { token: `${token}?`, logprob: -3, bytes: null },
    ],
  }));
  const chunk = {
    id: 'gen-logprobs', provider: 'FakeProvider', model: FAKE_SERVED_MODEL, object: 'chat.completion.chunk', created: 1767225600,
    choices: [{ index: 0, delta: { role: 'assistant', content: tokens.join('') }, finish_reason: finishReason, native_finish_reason: finishReason, logprobs: { content, refusal: null } }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

const LOGPROB_STREAM = logprobChunk(['Hel', 'lo']) + logprobChunk([' world']) + logprobChunk([], 'stop') + usageChunk(3, 3) + SSE_DONE;

function expectedLogprob(token: string, index: number) {
  return {
    token,
    logprob: -0.5 * (index + 1),
    bytes: [...Buffer.from(token)],
    top_logprobs: [
      { token, logprob: -0.5 * (index + 1), bytes: [...Buffer.from(token)] },
      { token: `${token}?`, logprob: -3 },
    ],
  };
}
const EXPECTED = [expectedLogprob('Hel', 0), expectedLogprob('lo', 1), expectedLogprob(' world', 0)];

describe('logprobs on /api/chat and /api/generate', () => {
  it('sends logprobs and top_logprobs to OpenRouter, and only when asked', async () => {
    setup.fake.script('openai/gpt-4o', { sse: LOGPROB_STREAM });
    await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false, logprobs: true, top_logprobs: 2 });
    expect(lastSent()).toMatchObject({ logprobs: true, top_logprobs: 2 });
    await post('/api/generate', { model: 'openai/gpt-4o', prompt: 'hi', stream: false, logprobs: true });
    expect(lastSent().logprobs).toBe(true);
    expect(lastSent()).not.toHaveProperty('top_logprobs');
    await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false });
    expect(lastSent()).not.toHaveProperty('logprobs');
  });

  it('answers stream:false with every token\'s logprobs in Ollama\'s shape (the ollama client reads them)', async () => {
    setup.fake.script('openai/gpt-4o', { sse: LOGPROB_STREAM });
    const ollama = new Ollama({ host: setup.gateway.url });
    const chat = await ollama.chat({ model: 'openai/gpt-4o', messages, stream: false, logprobs: true, top_logprobs: 2 });
    expect(chat.message.content).toBe('Hello world');
    expect(chat.logprobs).toEqual(EXPECTED);
    const generate = await ollama.generate({ model: 'openai/gpt-4o', prompt: 'hi', stream: false, logprobs: true, top_logprobs: 2 });
    expect(generate.response).toBe('Hello world');
    expect(generate.logprobs).toEqual(EXPECTED);
    const raw = await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false, logprobs: true, top_logprobs: 2 });
    expect(OllamaChatResponse.parse(raw.json()).logprobs).toEqual(EXPECTED);
  });

  it('streams each token\'s logprobs on the line that carries its text', async () => {
    setup.fake.script('openai/gpt-4o', { sse: LOGPROB_STREAM, writeMode: 'event' });
    for (const path of ['/api/chat', '/api/generate']) {
      const answer = await post(path, { model: 'openai/gpt-4o', messages, prompt: 'hi', stream: true, logprobs: true, top_logprobs: 2 });
      expect(answer.status).toBe(200);
      const lines = parseNdjson(answer.text);
      for (const line of lines) (path === '/api/chat' ? OllamaChatResponse : OllamaGenerateResponse).parse(line);
      const withText = lines.filter((line) => (line.message?.content ?? line.response) !== '');
      expect(withText.flatMap((line) => line.logprobs)).toEqual(EXPECTED);
      expect(lines.at(-1)).toMatchObject({ done: true });
      expect(lines.at(-1)).not.toHaveProperty('logprobs');
    }
    const ollama = new Ollama({ host: setup.gateway.url });
    const parts = await ollama.chat({ model: 'openai/gpt-4o', messages, stream: true, logprobs: true, top_logprobs: 2 });
    const streamed = [];
    for await (const part of parts) streamed.push(...(part.logprobs ?? []));
    expect(streamed).toEqual(EXPECTED);
  });

  it('top_logprobs outside 0–20 is a 400 in Ollama words, before going upstream', async () => {
    const before = setup.fake.chatRequests().length;
    for (const top of [-1, 21]) {
      const answer = await post('/api/chat', { model: 'openai/gpt-4o', messages, logprobs: true, top_logprobs: top });
      expect(answer.status).toBe(400);
      expect(answer.json()).toEqual({ error: 'top_logprobs must be between 0 and 20' });
    }
    expect(setup.fake.chatRequests().length).toBe(before);
  });
});

describe('logprobs over an upstream Ollama, on the translating path (an alias)', () => {
  let ollama: FakeOllama;
  let aliased: TestGateway;
  let configDir: string;
  beforeAll(async () => {
    ollama = await startFakeOllama();
    configDir = mkdtempSync(join(tmpdir(), 'ollama-today-'));
    writeFileSync(join(configDir, 'models.yaml'), 'aliases:\n  local: llama3.2\n');
    aliased = await startGateway(setup.fake.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, MODELS_CONFIG: join(configDir, 'models.yaml') });
  });
  afterAll(async () => {
    await aliased?.close();
    await ollama?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('asks Ollama for them and gives back Ollama\'s entries, stream and not', async () => {
    const line = (content: string, index: number) => ({ model: 'llama3.2:latest', created_at: '2026-01-01T00:00:00.000Z', message: { role: 'assistant', content }, done: false, logprobs: [{ ...expectedLogprob(content, index) }] });
    const final = { model: 'llama3.2:latest', created_at: '2026-01-01T00:00:00.000Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', eval_count: 3 };
    ollama.script('llama3.2:latest', { ndjson: [line('Hel', 0), line('lo', 1), line(' world', 0), final].map((object) => `${JSON.stringify(object)}\n`).join('') });
    const answer = await request(`${aliased.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'local', messages, stream: false, logprobs: true, top_logprobs: 2 }) });
    expect(OllamaChatResponse.parse(await answer.body.json()).logprobs).toEqual(EXPECTED);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest', logprobs: true, top_logprobs: 2 });
    const streamed = parseNdjson(await (await request(`${aliased.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'local', messages, logprobs: true, top_logprobs: 2 }) })).body.text());
    expect(streamed.flatMap((object) => object.logprobs ?? [])).toEqual(EXPECTED);
  });
});

describe('tool calls in Ollama\'s shape (the ollama client)', () => {
  const tools: Tool[] = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
  ];
  const calls = [
    { id: 'call_a1', function: { index: 0, name: 'get_weather', arguments: { city: 'Oslo' } } },
    { id: 'call_b2', function: { index: 1, name: 'get_time', arguments: { zone: 'CET' } } },
  ];

  it('answers carry each call\'s id and function.index, stream and not; results named by tool_name find their call', async () => {
    const ollama = new Ollama({ host: setup.gateway.url });
    const model = 'fixture/parallel-tool-calls';
    const answer = await ollama.chat({ model, messages, tools, stream: false });
    expect(answer.message.tool_calls).toEqual(calls);
    const streamed = [];
    for await (const part of await ollama.chat({ model, messages, tools, stream: true })) streamed.push(...(part.message.tool_calls ?? []));
    expect(streamed).toEqual(calls);

    await ollama.chat({
      model: 'openai/gpt-4o',
      stream: false,
      messages: [
        ...messages,
        { role: 'assistant', content: '', tool_calls: answer.message.tool_calls! },
        { role: 'tool', tool_name: 'get_time', content: '12:00' },
        { role: 'tool', tool_name: 'get_weather', content: '18°C' },
      ],
    });
    const sent = (lastSent().messages as Array<Record<string, unknown>>).filter((message) => message.role === 'tool');
    expect(sent).toEqual([
      { role: 'tool', content: '12:00', tool_call_id: 'call_b2', name: 'get_time' },
      { role: 'tool', content: '18°C', tool_call_id: 'call_a1', name: 'get_weather' },
    ]);
  });
});
