/**
 * /v1/chat/completions through the IR (as for a backend without passthrough) and
 * /v1/completions (always through the IR): Ollama 0.32.6+'s exact SSE sequence, the
 * non-stream objects, errors before and after the first byte, abort propagation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpenAiChatCompletion, OpenAiChatCompletionChunk, OpenAiCompletion, OpenAiErrorResponse } from '../../schemas/openai.js';
import {
  DEFAULT_MODELS,
  SSE_COMMENT,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  type FakeModel,
  type FakeOpenRouter,
} from '../fakes/fake-openrouter.js';
import { startGateway, startGatewayThroughIr, type TestGateway } from '../helpers/gateway.js';

const IR_MODELS: FakeModel[] = 'abcdefgh'.split('').map((letter) => ({ id: `ir/m-${letter}`, context_length: 8192, tools: true, reasoning: true, created: 1600000000 }));

let fake: FakeOpenRouter;
/** A gateway whose OpenRouter adapter has no passthrough: everything goes through the IR. */
let irGateway: TestGateway;
let irUrl: string;
let gateway: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, ...IR_MODELS] });
  irGateway = await startGatewayThroughIr(fake.baseUrl);
  irUrl = irGateway.url;
  gateway = await startGateway(fake.baseUrl);
});
afterAll(async () => {
  // After an abort, the client may keep a connection it never sent a request on; close() would wait for it.
  gateway?.app.server.closeAllConnections();
  await Promise.all([irGateway?.close(), gateway?.close()]);
  await fake?.close();
});

const user = [{ role: 'user', content: 'hi there' }];

async function post(path: string, body: Record<string, unknown>, url = irUrl) {
  const response = await request(`${url}/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function dataEvents(text: string): any[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((event) => {
    expect(event.startsWith('data: ')).toBe(true);
    const data = event.slice(6);
    return data === '[DONE]' ? data : JSON.parse(data);
  });
}

describe('chat completions through the IR', () => {
  it("streams Ollama's exact sequence: role first, content, finish chunk, usage chunk, [DONE]", async () => {
    const response = await post('/chat/completions', { model: 'gpt-4o', messages: user, stream: true, stream_options: { include_usage: true } });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const events = dataEvents(response.text);
    const chunks = events.slice(0, -1);
    for (const chunk of chunks) OpenAiChatCompletionChunk.parse(chunk);
    expect(events.at(-1)).toBe('[DONE]');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0].id).toMatch(/^chatcmpl-/);
    expect(new Set(chunks.map((chunk) => chunk.created)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.model === 'gpt-4o' && chunk.system_fingerprint === 'fp_ollama')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.slice(1).every((chunk) => chunk.choices[0]?.delta.role === undefined)).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Echo from openai/gpt-4o: hi there');
    expect(chunks.at(-2).choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 8, completion_tokens: 5, total_tokens: 13 } });
  });

  it('streams complete tool calls in one delta and finishes with tool_calls', async () => {
    const response = await post('/chat/completions', {
      model: 'fixture/tool-call', messages: user, stream: true,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const events = dataEvents(response.text);
    expect(events[0].choices[0].delta).toEqual({
      role: 'assistant', content: '',
      tool_calls: [{ id: 'call_9fK2', index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    expect(events[1].choices[0].finish_reason).toBe('tool_calls');
    expect(events.some((event) => event !== '[DONE]' && 'usage' in event)).toBe(false);
  });

  it('streams reasoning in both reasoning and reasoning_content', async () => {
    const events = dataEvents((await post('/chat/completions', { model: 'fixture/reasoning', messages: user, stream: true })).text);
    const reasoning = events.filter((event) => event !== '[DONE]' && event.choices[0]?.delta.reasoning);
    expect(reasoning.map((event) => event.choices[0].delta.reasoning).join('')).toBe('Two plus two is four.');
    for (const event of reasoning) expect(event.choices[0].delta.reasoning_content).toBe(event.choices[0].delta.reasoning);
  });

  it('answers stream:false with one chat.completion object', async () => {
    const response = await post('/chat/completions', { model: 'fixture/reasoning', messages: user });
    expect(response.status).toBe(200);
    const body = OpenAiChatCompletion.parse(JSON.parse(response.text));
    expect(body.choices[0]!.message).toEqual({
      role: 'assistant', content: '4', reasoning: 'Two plus two is four.', reasoning_content: 'Two plus two is four.',
      // As OpenRouter's client rebuilds them from the stream's fragments: to be sent back unchanged.
      reasoning_details: [{ type: 'reasoning.text', text: 'Two plus two is four.', format: 'anthropic-claude-v1', index: 0, signature: 'EqQBCkYIBxgCKkBf' }],
    });
    expect(body.usage).toEqual({ prompt_tokens: 14, completion_tokens: 20, total_tokens: 34 });
    expect(body.model).toBe('fixture/reasoning');
  });

  it('sends the translated request upstream', async () => {
    await post('/chat/completions', { model: 'ir/m-a', messages: user, max_completion_tokens: 7, reasoning_effort: 'max', think: false, keep_alive: 0 });
    const sent = fake.chatRequests().filter((record) => record.body?.model === 'ir/m-a').at(-1)!.body;
    expect(sent).toMatchObject({ model: 'ir/m-a', max_tokens: 7, reasoning: { effort: 'xhigh' }, stream: true });
    expect(sent).not.toHaveProperty('keep_alive');
    expect(sent).not.toHaveProperty('think');
  });

  it('refuses an effort it does not know with a 400 in OpenAI\'s dialect, before anything goes upstream (names on Object.prototype too)', async () => {
    const before = fake.chatRequests().length;
    for (const effort of ['extreme', 'constructor']) {
      const response = await post('/chat/completions', { model: 'ir/m-a', messages: user, reasoning_effort: effort });
      expect(response.status, effort).toBe(400);
      expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error.message).toContain(`invalid reasoning effort: "${effort}"`);
    }
    expect(fake.chatRequests().length).toBe(before);
  });

  it('answers an error before the first token with its status, after it in-band without [DONE]', async () => {
    const early = await post('/chat/completions', { model: 'fixture/error-legacy', messages: user, stream: true });
    expect(early.status).toBe(429);
    expect(OpenAiErrorResponse.parse(JSON.parse(early.text)).error.type).toBe('rate_limit_error');

    const late = await post('/chat/completions', { model: 'fixture/error-mid-stream', messages: user, stream: true });
    expect(late.status).toBe(200);
    const events = dataEvents(late.text);
    expect(OpenAiErrorResponse.parse(events.at(-1)).error.message).toBe('Provider disconnected unexpectedly');
    expect(late.text).not.toContain('[DONE]');

    const truncated = await post('/chat/completions', { model: 'fixture/truncated', messages: user, stream: true });
    expect(dataEvents(truncated.text).at(-1).error.message).toMatch(/without finishing/);
  });

  it('answers a non-stream upstream failure with its status', async () => {
    const response = await post('/chat/completions', { model: 'fixture/error-mid-stream', messages: user });
    expect(response.status).toBe(502);
    expect(JSON.parse(response.text).error.message).toBe('Provider disconnected unexpectedly');
  });

  it('propagates a client abort to the upstream request', async () => {
    fake.script('ir/m-b', { sse: textStream(Array.from({ length: 200 }, (_, index) => `w${index} `)), delayMs: 20 });
    const controller = new AbortController();
    const response = await request(`${irUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ir/m-b', messages: user, stream: true }), signal: controller.signal,
    });
    const iterator = response.body[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await iterator.return?.().catch(() => undefined);
    const record = fake.chatRequests().filter((entry) => entry.body?.model === 'ir/m-b').at(-1)!;
    await Promise.race([record.settled, new Promise((resolve) => setTimeout(resolve, 3000))]);
    expect(record.aborted).toBe(true);
  });
});

describe('legacy completions (always through the IR)', () => {
  it('streams text_completion chunks, a finish chunk, usage and [DONE]', async () => {
    fake.script('ir/m-c', { sse: SSE_COMMENT + textStream(['Once', ' upon', ' a time'], 'length', [2, 3]) });
    const response = await post('/completions', { model: 'ir/m-c', prompt: 'Tell me', stream: true, stream_options: { include_usage: true }, max_tokens: 3 }, gateway.url);
    expect(response.status).toBe(200);
    const events = dataEvents(response.text);
    for (const event of events.slice(0, -1)) OpenAiCompletion.parse(event);
    const texts = events.slice(0, -3);
    expect(texts.every((event) => event.choices[0].finish_reason === null)).toBe(true);
    expect(texts.map((event) => event.choices[0].text).join('')).toBe('Once upon a time');
    expect(events.slice(-3, -1).map((event) => event.choices)).toEqual([[{ text: '', index: 0, finish_reason: 'length' }], []]);
    expect(events.at(-2).usage).toEqual({ prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    expect(events.at(-1)).toBe('[DONE]');
    const sent = fake.chatRequests().filter((record) => record.body?.model === 'ir/m-c').at(-1)!.body;
    expect(sent.messages).toEqual([{ role: 'user', content: 'Tell me' }]);
    expect(sent.max_tokens).toBe(3);
  });

  it('answers stream:false with one text_completion object', async () => {
    const response = await post('/completions', { model: 'openai/gpt-4o', prompt: 'hello' }, gateway.url);
    const body = OpenAiCompletion.parse(JSON.parse(response.text));
    expect(body.choices).toEqual([{ text: 'Echo from openai/gpt-4o: hello', index: 0, finish_reason: 'stop', logprobs: null }]);
    expect(body.model).toBe('openai/gpt-4o');
  });

  it('ends a failed completion stream with an error event', async () => {
    fake.script('ir/m-d', { sse: sseChunk({ role: 'assistant', content: 'cut' }) });
    const response = await post('/completions', { model: 'ir/m-d', prompt: 'x', stream: true }, gateway.url);
    const events = dataEvents(response.text);
    expect(events[0].choices[0].text).toBe('cut');
    expect(events.at(-1).error.message).toMatch(/without finishing/);
  });

  it('rejects suffix and several prompts with 400s', async () => {
    expect((await post('/completions', { model: 'openai/gpt-4o', prompt: 'a', suffix: 'b' }, gateway.url)).status).toBe(400);
    expect((await post('/completions', { model: 'openai/gpt-4o', prompt: ['a', 'b'] }, gateway.url)).status).toBe(400);
  });
});
