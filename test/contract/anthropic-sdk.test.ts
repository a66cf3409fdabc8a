/**
 * The real `@anthropic-ai/sdk` client (what Claude Code is built on) against the gateway's
 * `/v1/messages`, over the fake OpenRouter and over a fake upstream Ollama: messages.create,
 * messages.stream() with its helpers and raw events, a tools round trip, thinking,
 * count_tokens, the client key in `x-api-key` or `Authorization`, and every error as the SDK's
 * own error class. Each answered request leaves one usage record, as on /v1/chat/completions.
 */
import Anthropic, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PaymentRequiredError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordForPlainKey } from '../../src/auth/api-keys.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'anthropic-contract-key';
const LIMITED_KEY = 'anthropic-limited-key';
const ONE_PER_MINUTE_KEY = 'anthropic-one-per-minute-key';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let keyed: TestGateway;
let overOllama: TestGateway;
const records: UsageRecord[] = [];
const keyedRecords: UsageRecord[] = [];

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  openRouter.script('openai/gpt-4.1', { sse: textStream(['Cached', ' answer'], 'stop', [40, 2], { cachedTokens: 32 }) });
  gateway = await startGateway(openRouter.baseUrl);
  gateway.app.usageEvents.subscribe((record) => records.push(record));
  const keysFile = `${process.env.TMPDIR ?? '/tmp'}/anthropic-contract-keys-${process.pid}.txt`;
  await import('node:fs').then(({ writeFileSync }) => writeFileSync(keysFile, JSON.stringify({
    version: 2,
    keys: [
      { ...recordForPlainKey(KEY, 'claude-code'), name: 'claude-code' },
      { ...recordForPlainKey(LIMITED_KEY, 'limited'), name: 'limited', models: ['openai/*'], budgetUsd: 0.000001 },
      { ...recordForPlainKey(ONE_PER_MINUTE_KEY, 'one-per-minute'), name: 'one-per-minute', requestsPerMinute: 1 },
    ],
  })));
  keyed = await startGateway(openRouter.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
  keyed.app.usageEvents.subscribe((record) => keyedRecords.push(record));
  overOllama = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), keyed?.close(), overOllama?.close()]);
  await openRouter?.close();
  await ollama?.close();
});

const client = (url: string, credentials: { apiKey?: string; authToken?: string } = { apiKey: 'unused' }) =>
  new Anthropic({ baseURL: url, maxRetries: 0, ...credentials });

const lastUpstream = () => openRouter.chatRequests().at(-1)!.body;

/** Waits for the record of the request just answered (records come when the response closes). */
async function lastRecord(list: UsageRecord[], count: number): Promise<UsageRecord> {
  for (let tries = 0; list.length < count && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  return list.at(-1)!;
}

describe('messages.create over OpenRouter', () => {
  it('answers a message object with text, end_turn and the usage, naming the model as the client did', async () => {
    const before = records.length;
    // Sampling knobs older SDKs typed (and Claude Code still sends); 1.17's types no longer list them.
    const sampling = { temperature: 0.2, top_p: 0.9, top_k: 20 } as Record<string, number>;
    const message = await client(gateway.url).messages.create({
      ...sampling,
      model: 'gpt-4o',
      max_tokens: 256,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hi there' }],
      stop_sequences: ['STOP'],
      metadata: { user_id: 'someone' },
    });
    expect(message).toMatchObject({
      type: 'message', role: 'assistant', model: 'gpt-4o', stop_reason: 'end_turn', stop_sequence: null,
      content: [{ type: 'text', text: 'Echo from openai/gpt-4o: hi there' }],
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.usage).toMatchObject({ output_tokens: expect.any(Number), cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(lastUpstream()).toMatchObject({
      model: 'openai/gpt-4o',
      messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'hi there' }],
      max_tokens: 256, temperature: 0.2, top_p: 0.9, top_k: 20, stop: ['STOP'],
    });
    const record = await lastRecord(records, before + 1);
    expect(record).toMatchObject({
      route: '/v1/messages', method: 'POST', modelRequested: 'gpt-4o', backend: 'openrouter', status: 200, outcome: 'completed',
      finishReason: 'stop', tokensEstimated: false, promptTokens: message.usage.input_tokens, completionTokens: message.usage.output_tokens,
    });
  });

  it('reports cached prompt tokens as cache_read_input_tokens, apart from input_tokens', async () => {
    const message = await client(gateway.url).messages.create({ model: 'openai/gpt-4.1', max_tokens: 50, messages: [{ role: 'user', content: 'again' }] });
    expect(message.usage).toMatchObject({ input_tokens: 8, cache_read_input_tokens: 32, output_tokens: 2 });
  });

  it('takes image blocks (base64) and sends them as data URLs', async () => {
    await client(gateway.url).messages.create({
      model: 'gpt-4o', max_tokens: 50,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }] }],
    });
    const content = lastUpstream().messages[0].content;
    expect(content).toEqual(expect.arrayContaining([{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }]));
  });
});

describe('messages.stream() over OpenRouter', () => {
  it('gives text events and a final message, with raw events in Anthropic order', async () => {
    const stream = client(gateway.url).messages.stream({ model: 'gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'stream it' }] });
    const names: string[] = [];
    let text = '';
    stream.on('streamEvent', (event) => names.push(event.type));
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe('Echo from openai/gpt-4o: stream it');
    expect(final.content).toEqual([{ type: 'text', text }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(names[0]).toBe('message_start');
    expect(names[1]).toBe('content_block_start');
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(names.filter((name) => name === 'content_block_delta').length).toBeGreaterThan(1);
  });

  it('streams thinking blocks (thinking_delta) before the text when thinking is enabled', async () => {
    const stream = client(gateway.url).messages.stream({
      model: 'fixture/reasoning', max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: '2+2?' }],
    });
    let thinking = '';
    stream.on('thinking', (delta) => (thinking += delta));
    const final = await stream.finalMessage();
    expect(thinking).toBe('Two plus two is four.');
    expect(final.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(final.content[1]).toMatchObject({ type: 'text', text: '4' });
    expect(lastUpstream().reasoning).toEqual({ enabled: true });
  });

  it('thinking disabled goes upstream as reasoning disabled', async () => {
    await client(gateway.url).messages.create({ model: 'deepseek/deepseek-r1', max_tokens: 10, thinking: { type: 'disabled' }, messages: [{ role: 'user', content: 'x' }] });
    expect(lastUpstream().reasoning).toEqual({ enabled: false });
  });

  it('thinking asked of a model that cannot think is not sent (Claude Code sends it to any model)', async () => {
    await client(gateway.url).messages.create({ model: 'mistralai/mistral-small', max_tokens: 10, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'x' }] });
    expect(lastUpstream().reasoning).toBeUndefined();
  });

  it('an upstream error after the first byte is an error event the SDK throws as an APIError', async () => {
    const stream = client(gateway.url).messages.stream({ model: 'fixture/error-mid-stream', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const error = await stream.finalMessage().then(() => undefined, (caught: unknown) => caught);
    expect(text).toBe('partial answ');
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).error).toEqual({ type: 'error', error: { type: 'api_error', message: 'Provider disconnected unexpectedly' } });
  });
});

describe('tools round trip', () => {
  const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }];

  it('streams tool_use (input_json_delta), stop_reason tool_use, and takes the results back', async () => {
    const anthropic = client(gateway.url);
    const stream = anthropic.messages.stream({ model: 'fixture/tool-call', max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    const jsonDeltas: string[] = [];
    stream.on('inputJson', (partial) => jsonDeltas.push(partial));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: 'call_9fK2', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(jsonDeltas).toEqual(['{"city":"Paris"}']);
    expect(lastUpstream()).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: tools[0]!.input_schema } }],
      tool_choice: 'required',
    });

    const message = await anthropic.messages.create({
      model: 'gpt-4o', max_tokens: 100, tools, tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: final.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_9fK2', content: [{ type: 'text', text: 'Sunny, 21°C' }] }] },
      ],
    });
    expect(message.stop_reason).toBe('end_turn');
    expect(lastUpstream()).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', tool_calls: [{ id: 'call_9fK2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_9fK2', content: 'Sunny, 21°C' },
      ],
    });
  });

  it('non-stream tool calls come back as tool_use blocks with an object input', async () => {
    const message = await client(gateway.url).messages.create({ model: 'fixture/parallel-tool-calls', max_tokens: 100, tools, messages: [{ role: 'user', content: 'x' }] });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_a1', name: 'get_weather', input: { city: 'Oslo' } },
      { type: 'tool_use', id: 'call_b2', name: 'get_time', input: { zone: 'CET' } },
    ]);
  });
});

describe('count_tokens', () => {
  it('estimates the prompt without calling an upstream or leaving a usage record', async () => {
    const upstreamBefore = openRouter.chatRequests().length;
    const recordsBefore = records.length;
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(8);
    const count = await client(gateway.url).messages.countTokens({ model: 'gpt-4o', system: 'Be terse.', messages: [{ role: 'user', content: text }] });
    // A quarter of the characters of every string: the text, the system prompt, the role.
    expect(count).toEqual({ input_tokens: Math.ceil((text.length + 'Be terse.'.length + 'user'.length) / 4) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openRouter.chatRequests().length).toBe(upstreamBefore);
    expect(records.length).toBe(recordsBefore);
  });

  it('an unknown model is a NotFoundError there too', async () => {
    await expect(client(gateway.url).messages.countTokens({ model: 'no/such-model', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('errors as the SDK classes, in Anthropic\'s envelope', () => {
  it('unknown model → NotFoundError (not_found_error)', async () => {
    const error = await client(gateway.url).messages.create({ model: 'no/such-model', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as APIError).error).toEqual({ type: 'error', error: { type: 'not_found_error', message: "model 'no/such-model' not found" } });
  });

  it('missing max_tokens, empty messages → BadRequestError (invalid_request_error)', async () => {
    const anthropic = client(gateway.url);
    const missing = await anthropic.messages.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(BadRequestError);
    expect((missing as APIError).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } });
    await expect(anthropic.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [] })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('an upstream error before the first byte keeps its status: 429 → RateLimitError', async () => {
    const error = await client(gateway.url).messages.create({ model: 'fixture/error-legacy', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as APIError).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('no key / a wrong key → AuthenticationError; the key is taken from x-api-key (apiKey) or Authorization (authToken)', async () => {
    const wrong = await client(keyed.url, { apiKey: 'wrong' }).messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect((wrong as APIError).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const before = keyedRecords.length;
    for (const credentials of [{ apiKey: KEY }, { authToken: KEY }]) {
      const message = await client(keyed.url, credentials).messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'anthropic-beta': 'some-future-beta-2099-01-01' } });
      expect(message.type).toBe('message');
    }
    const record = await lastRecord(keyedRecords, before + 2);
    expect(record).toMatchObject({ keyName: 'claude-code', route: '/v1/messages' });
  });

  it('a model outside the key\'s models → PermissionDeniedError; a spent budget → PaymentRequiredError', async () => {
    const limited = client(keyed.url, { apiKey: LIMITED_KEY });
    const outside = await limited.messages.create({ model: 'deepseek/deepseek-r1', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(outside).toBeInstanceOf(PermissionDeniedError);
    expect((outside as APIError).error).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    // The first answer spends past the tiny budget: the next request is refused with 402.
    await limited.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spent = await limited.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(spent).toBeInstanceOf(PaymentRequiredError);
    expect((spent as APIError).error).toMatchObject({ type: 'error', error: { type: 'billing_error', message: expect.stringContaining('budget spent') } });
  });

  it('past the key\'s requests per minute → RateLimitError with Retry-After', async () => {
    const limited = client(keyed.url, { apiKey: ONE_PER_MINUTE_KEY });
    await limited.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    const error = await limited.messages.create({ model: 'gpt-4o', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as APIError).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect((error as APIError).headers?.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('over an upstream Ollama', () => {
  it('messages.create and messages.stream() on an Ollama model, with Ollama\'s counts as the usage', async () => {
    const anthropic = client(overOllama.url);
    const message = await anthropic.messages.create({ model: 'llama3.2', max_tokens: 50, messages: [{ role: 'user', content: 'hi there' }] });
    expect(message.model).toBe('llama3.2');
    expect((message.content[0] as Anthropic.TextBlock).text).toContain('hi there');
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest', options: { num_predict: 50 } });

    const stream = anthropic.messages.stream({ model: 'qwen3:8b', max_tokens: 50, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'think first' }] });
    const final = await stream.finalMessage();
    expect(final.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ think: true });
  });

  it('a tools round trip on an Ollama model', async () => {
    ollama.script('qwen3:8b', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' }, id: 'call_ol1' }], reply: '' });
    const anthropic = client(overOllama.url);
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const first = await anthropic.messages.create({ model: 'qwen3:8b', max_tokens: 50, tools, messages: [{ role: 'user', content: 'Oslo?' }] });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((block) => block.type === 'tool_use')!;
    expect(call).toMatchObject({ name: 'get_weather', input: { city: 'Oslo' } });
    await anthropic.messages.create({
      model: 'qwen3:8b', max_tokens: 50, tools,
      messages: [
        { role: 'user', content: 'Oslo?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Rain' }] },
      ],
    });
    const sent = ollama.requestsTo('/api/chat').at(-1)!.body;
    expect(sent.messages.at(-1)).toMatchObject({ role: 'tool', content: 'Rain', tool_name: 'get_weather' });
  });
});
