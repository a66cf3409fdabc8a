/**
 * POST /api/chat and /api/generate over real HTTP against the fake OpenRouter: every recorded
 * upstream stream shape, cut every way the network can cut it, must give the same Ollama
 * NDJSON; lines are forwarded as they arrive; stream:false is built from the same path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OllamaChatResponse, OllamaGenerateResponse } from '../../schemas/ollama.js';
import {
  DEFAULT_MODELS,
  SSE_DONE,
  loadFixture,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  type FakeOpenRouter,
  type WriteMode,
} from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { expectNoMixedLines, ndjson, ndjsonLines, normalize, checkStream, postRaw, streamContent } from '../helpers/ollama-checks.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;

const SLOW_MODEL = 'slow/streamer';
const TIMED_MODEL = 'slow/timed';

beforeAll(async () => {
  fake = await startFakeOpenRouter({
    models: [
      ...DEFAULT_MODELS,
      { id: SLOW_MODEL, context_length: 8192, created: 1700000000 },
      { id: TIMED_MODEL, context_length: 8192, created: 1700000000 },
    ],
  });
  gateway = await startGateway(fake.baseUrl);
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

const chat = (body: Record<string, unknown>) => postRaw(`${gateway.url}/api/chat`, body);
const generate = (body: Record<string, unknown>) => postRaw(`${gateway.url}/api/generate`, body);
const lastUpstreamBody = () => fake.chatRequests().at(-1)!.body;

const WRITE_MODES: Array<[string, WriteMode]> = [
  ['event', 'event'],
  ['bytes', 'bytes'],
  ['glued', 'glued'],
  ['random cuts, seed 1', { randomSeed: 1 }],
  ['random cuts, seed 7, pieces up to 5 bytes', { randomSeed: 7, maxPiece: 5 }],
  ['random cuts, seed 4242, pieces up to 300 bytes', { randomSeed: 4242, maxPiece: 300 }],
];

const assistant = (content: string, extra: Record<string, unknown> = {}) => ({ role: 'assistant', content, ...extra });

/** Expected normalised chat stream of each fixture (see normalize()). */
function expectedChat(model: string, fixture: string): any[] {
  const line = (message: Record<string, unknown>) => ({ model, message, done: false });
  const final = (reason: string, usage?: [number, number]) => ({
    model,
    message: assistant(''),
    done: true,
    done_reason: reason,
    ...(usage === undefined ? {} : { prompt_eval_count: usage[0], eval_count: usage[1] }),
  });
  switch (fixture) {
    case 'text':
      return [line(assistant('Bonjour le monde — ça va ? 🌍✓')), final('stop', [9, 3])];
    case 'reasoning':
      return [line(assistant('', { thinking: 'Two plus two is four.' })), line(assistant('4')), final('stop', [14, 20])];
    case 'tool-call':
      return [
        line(assistant('', { tool_calls: [{ id: 'call_9fK2', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } }] })),
        final('stop', [80, 15]),
      ];
    case 'parallel-tool-calls':
      return [
        line(
          assistant('', {
            tool_calls: [
              { id: 'call_a1', function: { index: 0, name: 'get_weather', arguments: { city: 'Oslo' } } },
              { id: 'call_b2', function: { index: 1, name: 'get_time', arguments: { zone: 'CET' } } },
            ],
          }),
        ),
        final('stop', [50, 30]),
      ];
    case 'tool-call-finish-stop':
      return [line(assistant('', { tool_calls: [{ id: 'call_x', function: { index: 0, name: 'list_files', arguments: {} } }] })), final('stop', [7, 4])];
    case 'usage-shape-2':
      return [line(assistant('Hi')), final('stop', [9, 3])];
    case 'usage-shape-3':
      return [line(assistant('Hi there')), final('stop', [9, 3])];
    case 'no-usage':
      return [line(assistant('Hi')), final('stop')];
    case 'length':
      return [line(assistant('The answer is')), final('length', [5, 3])];
    case 'crlf':
      return [line(assistant('Hello')), final('stop', [3, 2])];
    default:
      throw new Error(`no expectation for ${fixture}`);
  }
}

const FIXTURES = ['text', 'reasoning', 'tool-call', 'parallel-tool-calls', 'tool-call-finish-stop', 'usage-shape-2', 'usage-shape-3', 'no-usage', 'length', 'crlf'];

/** Checks the per-line rules that normalisation hides. */
function checkRawChatLines(lines: any[], requestedModel: string, hasUsage: boolean): void {
  checkStream(lines, 'chat');
  expectNoMixedLines(lines, 'chat');
  const now = Date.now();
  for (const line of lines) {
    expect(line.model).toBe(requestedModel);
    expect(line.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    expect(Math.abs(Date.parse(line.created_at) - now)).toBeLessThan(60_000);
  }
  const final = lines.at(-1);
  expect(final.done).toBe(true);
  for (const key of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
    expect(Number.isInteger(final[key]), `${key} is an integer`).toBe(true);
    expect(final[key]).toBeGreaterThan(0);
  }
  if (!hasUsage) {
    expect(final).not.toHaveProperty('prompt_eval_count');
    expect(final).not.toHaveProperty('eval_count');
  }
  // Tool calls come in a done:false line before the final one, with ids and function.index.
  const toolLines = lines.filter((line) => line.message.tool_calls !== undefined);
  for (const line of toolLines) {
    expect(line.done).toBe(false);
    for (const call of line.message.tool_calls) {
      expect(typeof call.id).toBe('string');
      expect(call.id).not.toBe('');
      expect(Number.isInteger(call.function.index)).toBe(true);
      expect(typeof call.function.arguments).toBe('object');
    }
  }
  expect(final.message.tool_calls).toBeUndefined();
}

describe.each(FIXTURES)('POST /api/chat streams fixture %s', (fixture) => {
  const model = `fixture/${fixture}`;
  it.each(WRITE_MODES)('gives the same NDJSON when the upstream writes %s', async (_name, writeMode) => {
    fake.script(model, { sse: loadFixture(fixture), writeMode });
    const result = await chat({ model, messages: [{ role: 'user', content: 'go' }] });
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/x-ndjson');
    const lines = ndjson(result.text);
    checkRawChatLines(lines, model, fixture !== 'no-usage');
    expect(normalize(lines, 'chat')).toEqual(expectedChat(model, fixture));
  });
});

describe('POST /api/chat streaming details', () => {
  it.each(['OpenAI/GPT-4o', 'openai/gpt-4o:latest', 'gpt-4o', 'openai/gpt-4o'])('echoes the model name %s exactly as sent', async (name) => {
    const result = await chat({ model: name, messages: [{ role: 'user', content: 'hello' }] });
    expect(result.status).toBe(200);
    const lines = ndjson(result.text);
    checkRawChatLines(lines, name, true);
    expect(lines.map((line) => line.message.content).join('')).toBe('Echo from openai/gpt-4o: hello');
    expect(lastUpstreamBody().model).toBe('openai/gpt-4o');
  });

  it('keeps thinking and content on separate lines, thinking first', async () => {
    fake.script('fixture/reasoning', { sse: loadFixture('reasoning'), writeMode: 'glued' });
    const lines = ndjson((await chat({ model: 'fixture/reasoning', messages: [{ role: 'user', content: '2+2?' }], think: true })).text);
    expectNoMixedLines(lines, 'chat');
    const firstContent = lines.findIndex((line) => line.message.content !== '');
    const lastThinking = lines.findLastIndex((line) => line.message.thinking !== undefined);
    expect(lastThinking).toBeGreaterThanOrEqual(0);
    expect(lastThinking).toBeLessThan(firstContent);
  });

  it('streams /api/generate with `response` and top-level `thinking`', async () => {
    fake.script('fixture/reasoning', { sse: loadFixture('reasoning'), writeMode: { randomSeed: 3, maxPiece: 40 } });
    const result = await generate({ model: 'fixture/reasoning', prompt: '2+2?' });
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/x-ndjson');
    const lines = ndjson(result.text);
    for (const line of lines) OllamaGenerateResponse.parse(line);
    expectNoMixedLines(lines, 'generate');
    expect(normalize(lines, 'generate')).toEqual([
      { model: 'fixture/reasoning', response: '', thinking: 'Two plus two is four.', done: false },
      { model: 'fixture/reasoning', response: '4', done: false },
      // context: the conversation (generate-context.test.ts).
      { model: 'fixture/reasoning', response: '', done: true, done_reason: 'stop', context: expect.any(Array), prompt_eval_count: 14, eval_count: 20 },
    ]);
  });

  it('streams /api/generate text with done_reason length', async () => {
    const content = streamContent((await generate({ model: 'fixture/length', prompt: 'count' })).text, 'generate');
    expect(content).toEqual([
      { model: 'fixture/length', response: 'The answer is', done: false },
      { model: 'fixture/length', response: '', done: true, done_reason: 'length', context: expect.any(Array), prompt_eval_count: 5, eval_count: 3 },
    ]);
  });

  it('streams when `stream` is absent (Ollama defaults to true) and when it is true', async () => {
    for (const stream of [undefined, true]) {
      const result = await chat({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'a b c' }], ...(stream === undefined ? {} : { stream }) });
      expect(result.headers['content-type']).toBe('application/x-ndjson');
      expect(ndjson(result.text).length).toBeGreaterThan(1);
    }
  });

  it('forwards each upstream chunk as it arrives (first line before the upstream has finished)', async () => {
    let sse = sseChunk({ role: 'assistant', content: '' });
    for (const piece of ['one ', 'two ', 'three ', 'four']) sse += sseChunk({ role: 'assistant', content: piece });
    sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    sse += SSE_DONE;
    fake.script(SLOW_MODEL, { sse, delayMs: 200 });
    const before = fake.chatRequests().length;
    const response = await request(`${gateway.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'count' }] }),
    });
    expect(response.statusCode).toBe(200);
    const upstream = fake.chatRequests()[before]!;
    let upstreamFinished = false;
    void upstream.settled.then(() => (upstreamFinished = true));
    const received: Array<{ line: any; upstreamFinished: boolean }> = [];
    for await (const line of ndjsonLines(response.body)) received.push({ line, upstreamFinished });
    checkStream(received.map((entry) => entry.line), 'chat');
    const firstContent = received.find((entry) => entry.line.message?.content === 'one ');
    expect(firstContent, 'the first content line').toBeDefined();
    expect(firstContent!.upstreamFinished, 'first line arrived while the upstream was still writing').toBe(false);
    // Several lines, not one buffered blob at the end.
    expect(received.filter((entry) => !entry.upstreamFinished).length).toBeGreaterThanOrEqual(2);
    expect(received.map((entry) => entry.line.message.content).join('')).toBe('one two three four');
    expect(upstream.aborted).toBe(false);
  });

  function scriptTimedModel(): void {
    let sse = sseChunk({ role: 'assistant', content: '' });
    for (const piece of ['a', 'b', 'c']) sse += sseChunk({ role: 'assistant', content: piece });
    sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } });
    sse += SSE_DONE;
    // First token after ~300 ms, last token ~300 ms later: the assertions use generous lower bounds.
    fake.script(TIMED_MODEL, { sse, delayMs: 150 });
  }

  function expectDurationsCoverGeneration(final: any): void {
    expect(final.total_duration).toBeGreaterThanOrEqual(400_000_000);
    expect(final.total_duration).toBeGreaterThanOrEqual(final.load_duration + final.eval_duration);
    expect(final.eval_duration, 'eval_duration spans first token → last token').toBeGreaterThanOrEqual(100_000_000);
  }

  it('reports durations that cover the generation time (stream)', async () => {
    scriptTimedModel();
    const final = ndjson((await chat({ model: TIMED_MODEL, messages: [{ role: 'user', content: 'x' }] })).text).at(-1);
    expectDurationsCoverGeneration(final);
  });

  it('reports durations that cover the generation time (stream:false)', async () => {
    scriptTimedModel();
    const single = JSON.parse((await chat({ model: TIMED_MODEL, messages: [{ role: 'user', content: 'x' }], stream: false })).text);
    OllamaChatResponse.parse(single);
    expectDurationsCoverGeneration(single);
  });
});

describe('stream:false', () => {
  it('answers one JSON object with content and thinking aggregated, from an upstream stream', async () => {
    fake.script('fixture/reasoning', { sse: loadFixture('reasoning'), writeMode: 'bytes' });
    const result = await chat({ model: 'fixture/reasoning', messages: [{ role: 'user', content: '2+2?' }], stream: false });
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(result.text);
    OllamaChatResponse.parse(body);
    expect(body).toMatchObject({
      model: 'fixture/reasoning',
      message: { role: 'assistant', content: '4', thinking: 'Two plus two is four.' },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: 14,
      eval_count: 20,
    });
    expect(lastUpstreamBody().stream).toBe(true);
  });

  it('aggregates tool calls as objects with ids', async () => {
    fake.script('fixture/parallel-tool-calls', { sse: loadFixture('parallel-tool-calls'), writeMode: 'glued' });
    const result = await chat({ model: 'fixture/parallel-tool-calls', messages: [{ role: 'user', content: 'weather and time' }], stream: false });
    const body = OllamaChatResponse.parse(JSON.parse(result.text));
    expect(body.message.content).toBe('');
    expect(body.message.tool_calls).toEqual([
      { id: 'call_a1', function: { index: 0, name: 'get_weather', arguments: { city: 'Oslo' } } },
      { id: 'call_b2', function: { index: 1, name: 'get_time', arguments: { zone: 'CET' } } },
    ]);
    expect(body.done_reason).toBe('stop');
    expect(lastUpstreamBody().stream).toBe(true);
  });

  it('aggregates text with done_reason length and no usage when there was none', async () => {
    const length = OllamaChatResponse.parse(JSON.parse((await chat({ model: 'fixture/length', messages: [{ role: 'user', content: 'x' }], stream: false })).text));
    expect(length).toMatchObject({ message: { content: 'The answer is' }, done_reason: 'length', prompt_eval_count: 5, eval_count: 3 });
    const noUsage = JSON.parse((await chat({ model: 'fixture/no-usage', messages: [{ role: 'user', content: 'x' }], stream: false })).text);
    OllamaChatResponse.parse(noUsage);
    expect(noUsage.message.content).toBe('Hi');
    expect(noUsage).not.toHaveProperty('prompt_eval_count');
    expect(noUsage).not.toHaveProperty('eval_count');
  });

  it('answers /api/generate with `response` and `thinking`', async () => {
    const result = await generate({ model: 'fixture/reasoning', prompt: '2+2?', stream: false });
    const body = OllamaGenerateResponse.parse(JSON.parse(result.text));
    expect(body).toMatchObject({ model: 'fixture/reasoning', response: '4', thinking: 'Two plus two is four.', done: true, done_reason: 'stop' });
    expect(lastUpstreamBody().stream).toBe(true);
  });
});

describe('load and unload', () => {
  it('chat with no messages answers a single done_reason "load" object, even with stream true', async () => {
    const before = fake.chatRequests().length;
    for (const body of [{ messages: [] }, { messages: [], stream: true }, {}]) {
      const result = await chat({ model: 'openai/gpt-4o', ...body });
      expect(result.status).toBe(200);
      const parsed = JSON.parse(result.text);
      OllamaChatResponse.parse(parsed);
      expect(parsed).toMatchObject({ model: 'openai/gpt-4o', message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
    }
    expect(fake.chatRequests().length, 'a load never reaches the upstream').toBe(before);
  });

  it('chat with no messages and keep_alive 0 answers "unload"', async () => {
    for (const keepAlive of [0, '0s']) {
      const parsed = OllamaChatResponse.parse(JSON.parse((await chat({ model: 'openai/gpt-4o', messages: [], keep_alive: keepAlive })).text));
      expect(parsed.done_reason).toBe('unload');
    }
  });

  it('generate with an empty prompt answers "load", and "unload" with keep_alive 0', async () => {
    const load = OllamaGenerateResponse.parse(JSON.parse((await generate({ model: 'openai/gpt-4o', prompt: '' })).text));
    expect(load).toMatchObject({ model: 'openai/gpt-4o', response: '', done: true, done_reason: 'load' });
    const noPrompt = OllamaGenerateResponse.parse(JSON.parse((await generate({ model: 'openai/gpt-4o' })).text));
    expect(noPrompt.done_reason).toBe('load');
    const unload = OllamaGenerateResponse.parse(JSON.parse((await generate({ model: 'openai/gpt-4o', prompt: '', keep_alive: 0 })).text));
    expect(unload.done_reason).toBe('unload');
  });

  it('generate with images and no prompt is asked upstream, not a load', async () => {
    const before = fake.chatRequests().length;
    const pixel = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const parsed = OllamaGenerateResponse.parse(JSON.parse((await generate({ model: 'openai/gpt-4o', images: [pixel], stream: false })).text));
    expect(parsed.done_reason).toBe('stop');
    expect(fake.chatRequests().length).toBe(before + 1);
  });
});

describe('default upstream answer', () => {
  it('streams the fake default text answer through /api/chat with usage counts', async () => {
    fake.script(SLOW_MODEL, { sse: textStream(['x ', 'y']) });
    const content = streamContent((await chat({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'q' }] })).text, 'chat');
    expect(content).toEqual([
      { model: SLOW_MODEL, message: assistant('x y'), done: false },
      { model: SLOW_MODEL, message: assistant(''), done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 2 },
    ]);
  });
});
