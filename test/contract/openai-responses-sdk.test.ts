/**
 * The real `openai` SDK's Responses client (what Codex speaks) against the gateway's
 * `/v1/responses`, over the fake OpenRouter and over a fake upstream Ollama:
 * responses.create, responses.stream() and `stream: true` with their event types, a function
 * call round trip, structured output, reasoning; the stateless refusals; every error as the
 * SDK's own error class in OpenAI's envelope; keys, per-key models, budgets and rate limits as
 * on every metered route. Each answered request leaves one usage record.
 */
import OpenAI, {
  APIError,
  AuthenticationError,
  BadRequestError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordForPlainKey } from '../../src/auth/api-keys.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'responses-contract-key';
const LIMITED_KEY = 'responses-limited-key';
const ONE_PER_MINUTE_KEY = 'responses-one-per-minute-key';

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
  const keysFile = `${process.env.TMPDIR ?? '/tmp'}/responses-contract-keys-${process.pid}.txt`;
  await import('node:fs').then(({ writeFileSync }) => writeFileSync(keysFile, JSON.stringify({
    version: 2,
    keys: [
      { ...recordForPlainKey(KEY, 'codex'), name: 'codex' },
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

const client = (url: string, apiKey = 'unused') => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

const lastUpstream = () => openRouter.chatRequests().at(-1)!.body;

async function lastRecord(list: UsageRecord[], count: number): Promise<UsageRecord> {
  for (let tries = 0; list.length < count && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
  return list.at(-1)!;
}

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function', name: 'get_weather', description: 'Weather for a city', strict: true,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
};

describe('responses.create over OpenRouter', () => {
  it('answers a response object with a message item, status completed and the usage; instructions, sampling and max_output_tokens go upstream', async () => {
    const before = records.length;
    const response = await client(gateway.url).responses.create({
      model: 'gpt-4o', instructions: 'Be terse.', input: 'hello there', temperature: 0.2, top_p: 0.9, max_output_tokens: 64,
      // Fields the gateway does not use are tolerated.
      metadata: { run: '1' }, parallel_tool_calls: true, store: false, include: ['reasoning.encrypted_content'],
    });
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: 'gpt-4o', instructions: 'Be terse.', max_output_tokens: 64, error: null });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output).toEqual([{ id: expect.stringMatching(/^msg_/), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Echo from openai/gpt-4o: hello there', annotations: [], logprobs: [] }] }]);
    expect(response.output_text).toBe('Echo from openai/gpt-4o: hello there');
    expect(response.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number), input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    expect(lastUpstream()).toMatchObject({
      model: 'openai/gpt-4o', temperature: 0.2, top_p: 0.9, max_tokens: 64,
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hello there' }],
    });
    const record = await lastRecord(records, before + 1);
    expect(record).toMatchObject({
      route: '/v1/responses', method: 'POST', modelRequested: 'gpt-4o', backend: 'openrouter', status: 200, outcome: 'completed',
      finishReason: 'stop', tokensEstimated: false, promptTokens: response.usage!.input_tokens, completionTokens: response.usage!.output_tokens,
    });
  });

  it('reports cached prompt tokens in input_tokens_details', async () => {
    const response = await client(gateway.url).responses.create({ model: 'openai/gpt-4.1', input: 'again' });
    expect(response.usage).toMatchObject({ input_tokens: 40, input_tokens_details: { cached_tokens: 32 }, output_tokens: 2, total_tokens: 42 });
  });

  it('takes message items (developer as system, assistant turns, input_text and input_image parts)', async () => {
    await client(gateway.url).responses.create({
      model: 'gpt-4o',
      input: [
        { role: 'developer', content: 'Answer in French.' },
        { role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' }] },
        // As Codex sends an earlier answer back: no id or status (the SDK's type wants them).
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Un pixel.', annotations: [] }] } as unknown as OpenAI.Responses.ResponseInputItem,
        { type: 'message', role: 'user', content: 'Sure?' },
      ],
    });
    const messages = lastUpstream().messages;
    expect(messages[0]).toEqual({ role: 'system', content: 'Answer in French.' });
    expect(messages[1].content).toEqual(expect.arrayContaining([{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }]));
    expect(messages.slice(2)).toMatchObject([{ role: 'assistant', content: 'Un pixel.' }, { role: 'user', content: 'Sure?' }]);
  });

  it('a length finish is status incomplete with incomplete_details max_output_tokens', async () => {
    const response = await client(gateway.url).responses.create({ model: 'fixture/length', input: 'x' });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
  });
});

describe('streaming over OpenRouter', () => {
  it('responses.stream() gives text deltas and the final response, events in order with increasing sequence numbers', async () => {
    const stream = client(gateway.url).responses.stream({ model: 'gpt-4o', input: 'stream it' });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    let text = '';
    stream.on('event', (event) => events.push(event));
    stream.on('response.output_text.delta', (event) => (text += event.delta));
    const final = await stream.finalResponse();
    expect(text).toBe('Echo from openai/gpt-4o: stream it');
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    expect(final.usage!.output_tokens).toBeGreaterThan(0);
    const types = events.map((event) => event.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const done = events.find((event) => event.type === 'response.output_text.done') as OpenAI.Responses.ResponseTextDoneEvent;
    expect(done.text).toBe(text);
  });

  it('stream: true yields the raw events, the last one response.completed with the output and usage', async () => {
    const stream = await client(gateway.url).responses.create({ model: 'fixture/text', input: 'x', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.type).toBe('response.completed');
    expect(completed.response.output[0]).toMatchObject({ type: 'message', status: 'completed' });
    expect(completed.response.usage!.total_tokens).toBeGreaterThan(0);
  });

  it('streams reasoning as a reasoning item with summary text before the message; reasoning.effort goes upstream', async () => {
    const stream = client(gateway.url).responses.stream({ model: 'fixture/reasoning', input: '2+2?', reasoning: { effort: 'high', summary: 'auto' } });
    let summary = '';
    stream.on('response.reasoning_summary_text.delta', (event) => (summary += event.delta));
    const final = await stream.finalResponse();
    expect(summary).toBe('Two plus two is four.');
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(final.output[0]).toMatchObject({ type: 'reasoning', summary: [{ type: 'summary_text', text: 'Two plus two is four.' }] });
    expect(final.output_text).toBe('4');
    expect(lastUpstream().reasoning).toMatchObject({ effort: 'high' });
  });

  it('reasoning effort none turns reasoning off upstream; reasoning asked of a model that cannot think is not sent', async () => {
    await client(gateway.url).responses.create({ model: 'deepseek/deepseek-r1', input: 'x', reasoning: { effort: 'none' } });
    expect(lastUpstream().reasoning).toEqual({ enabled: false });
    await client(gateway.url).responses.create({ model: 'mistralai/mistral-small', input: 'x', reasoning: { effort: 'high' } });
    expect(lastUpstream().reasoning).toBeUndefined();
  });

  it('an upstream error after the first byte is a response.failed event with the error', async () => {
    const stream = await client(gateway.url).responses.create({ model: 'fixture/error-mid-stream', input: 'x', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const text = events.filter((event) => event.type === 'response.output_text.delta').map((event) => (event).delta).join('');
    expect(text).toBe('partial answ');
    const failed = events.at(-1) as OpenAI.Responses.ResponseFailedEvent;
    expect(failed.type).toBe('response.failed');
    expect(failed.response).toMatchObject({ status: 'failed', error: { code: expect.any(String), message: 'Provider disconnected unexpectedly' } });
  });
});

describe('function calls round trip', () => {
  it('streams a function_call item (arguments delta and done), then takes function_call and function_call_output items back', async () => {
    const openai = client(gateway.url);
    const stream = openai.responses.stream({ model: 'fixture/tool-call', input: 'Weather in Paris?', tools: [weatherTool], tool_choice: 'required' });
    const argumentDeltas: string[] = [];
    let argumentsDone: OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent | undefined;
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    stream.on('response.function_call_arguments.done', (event) => (argumentsDone = event));
    const final = await stream.finalResponse();
    // The SDK adds parsed_arguments for a strict tool.
    expect(final.output).toMatchObject([{ id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: 'call_9fK2', name: 'get_weather', arguments: '{"city":"Paris"}', parsed_arguments: { city: 'Paris' } }]);
    expect(argumentDeltas.join('')).toBe('{"city":"Paris"}');
    expect(argumentsDone).toMatchObject({ arguments: '{"city":"Paris"}', item_id: final.output[0]!.id });
    expect(lastUpstream()).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.parameters } }],
      tool_choice: 'required',
    });

    const call = final.output[0] as OpenAI.Responses.ResponseFunctionToolCall;
    const answer = await openai.responses.create({
      model: 'gpt-4o', tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' },
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        call,
        { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21°C' },
      ],
    });
    expect(answer.status).toBe('completed');
    expect(lastUpstream()).toMatchObject({
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', tool_calls: [{ id: 'call_9fK2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_9fK2', content: 'Sunny, 21°C' },
      ],
    });
  });

  it('non-stream parallel calls are function_call items in order', async () => {
    const response = await client(gateway.url).responses.create({ model: 'fixture/parallel-tool-calls', input: 'x', tools: [weatherTool] });
    expect(response.output.map((item) => item.type === 'function_call' && [item.call_id, item.name, item.arguments])).toEqual([
      ['call_a1', 'get_weather', '{"city":"Oslo"}'],
      ['call_b2', 'get_time', '{"zone":"CET"}'],
    ]);
  });
});

describe('structured output', () => {
  it('text.format json_schema and json_object go upstream as the response format', async () => {
    const openai = client(gateway.url);
    const schema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'], additionalProperties: false };
    await openai.responses.create({ model: 'gpt-4o', input: 'x', text: { format: { type: 'json_schema', name: 'sum', schema, strict: true } } });
    expect(lastUpstream().response_format).toEqual({ type: 'json_schema', json_schema: { name: 'sum', schema, strict: true } });
    await openai.responses.create({ model: 'gpt-4o', input: 'x', text: { format: { type: 'json_object' } } });
    expect(lastUpstream().response_format).toEqual({ type: 'json_object' });
  });
});

describe('errors as the SDK classes, in OpenAI\'s envelope', () => {
  it('previous_response_id, conversation or store: true → BadRequestError saying the server is stateless', async () => {
    const openai = client(gateway.url);
    for (const extra of [{ previous_response_id: 'resp_123' }, { store: true }, { conversation: 'conv_1' }]) {
      const error = await openai.responses.create({ model: 'gpt-4o', input: 'x', ...extra }).catch((caught: unknown) => caught);
      expect(error, JSON.stringify(extra)).toBeInstanceOf(BadRequestError);
      expect((error as APIError).error).toMatchObject({ message: expect.stringContaining('stateless'), type: 'invalid_request_error' });
    }
  });

  it('unknown model → NotFoundError; missing input, a bad role or a bad effort → BadRequestError', async () => {
    const openai = client(gateway.url);
    const missing = await openai.responses.create({ model: 'no/such-model', input: 'x' }).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as APIError).error).toMatchObject({ message: "model 'no/such-model' not found", code: 'model_not_found' });
    const bad = [
      { model: 'gpt-4o' },
      { model: 'gpt-4o', input: [{ role: 'robot', content: 'x' }] },
      { model: 'gpt-4o', input: 'x', reasoning: { effort: 'extreme' } },
      { model: 'gpt-4o', input: [{ type: 'function_call_output', output: 'x' }] },
    ];
    for (const body of bad) {
      const error = await openai.responses.create(body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming).catch((caught: unknown) => caught);
      expect(error, JSON.stringify(body)).toBeInstanceOf(BadRequestError);
    }
  });

  it('an upstream error before the first byte keeps its status: 429 → RateLimitError', async () => {
    const error = await client(gateway.url).responses.create({ model: 'fixture/error-legacy', input: 'x', stream: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
  });

  it('no key / a wrong key → AuthenticationError; the client key works and names the record', async () => {
    const wrong = await client(keyed.url, 'wrong').responses.create({ model: 'gpt-4o', input: 'x' }).catch((caught: unknown) => caught);
    expect(wrong).toBeInstanceOf(AuthenticationError);
    expect((wrong as APIError).error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    const before = keyedRecords.length;
    const response = await client(keyed.url, KEY).responses.create({ model: 'gpt-4o', input: 'x' });
    expect(response.status).toBe('completed');
    expect(await lastRecord(keyedRecords, before + 1)).toMatchObject({ keyName: 'codex', route: '/v1/responses' });
  });

  it('a model outside the key\'s models → PermissionDeniedError; a spent budget → 402', async () => {
    const limited = client(keyed.url, LIMITED_KEY);
    const outside = await limited.responses.create({ model: 'deepseek/deepseek-r1', input: 'x' }).catch((caught: unknown) => caught);
    expect(outside).toBeInstanceOf(PermissionDeniedError);
    await limited.responses.create({ model: 'gpt-4o', input: 'x' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const spent = await limited.responses.create({ model: 'gpt-4o', input: 'x' }).catch((caught: unknown) => caught);
    expect(spent).toBeInstanceOf(APIError);
    expect((spent as APIError).status).toBe(402);
    expect((spent as APIError).error).toMatchObject({ message: expect.stringContaining('budget spent') });
  });

  it('past the key\'s requests per minute → RateLimitError with Retry-After', async () => {
    const limited = client(keyed.url, ONE_PER_MINUTE_KEY);
    await limited.responses.create({ model: 'gpt-4o', input: 'x' });
    const error = await limited.responses.create({ model: 'gpt-4o', input: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as APIError).headers?.get('retry-after')).toMatch(/^\d+$/);
  });
});

describe('over an upstream Ollama', () => {
  it('responses.create and responses.stream() on an Ollama model, with Ollama\'s counts as the usage', async () => {
    const openai = client(overOllama.url);
    const response = await openai.responses.create({ model: 'llama3.2', input: 'hi there', max_output_tokens: 50 });
    expect(response.model).toBe('llama3.2');
    expect(response.output_text).toContain('hi there');
    expect(response.usage!.output_tokens).toBeGreaterThan(0);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest', options: { num_predict: 50 } });

    const stream = openai.responses.stream({ model: 'qwen3:8b', input: 'think first', reasoning: { effort: 'high' } });
    const final = await stream.finalResponse();
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body.think).toBeTruthy();
  });

  it('a function call round trip on an Ollama model', async () => {
    ollama.script('qwen3:8b', { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' }, id: 'call_ol1' }], reply: '' });
    const openai = client(overOllama.url);
    const first = await openai.responses.create({ model: 'qwen3:8b', input: 'Oslo?', tools: [weatherTool] });
    const call = first.output.find((item) => item.type === 'function_call')!;
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
    await openai.responses.create({
      model: 'qwen3:8b', tools: [weatherTool],
      input: [{ role: 'user', content: 'Oslo?' }, call, { type: 'function_call_output', call_id: call.call_id, output: 'Rain' }],
    });
    const sent = ollama.requestsTo('/api/chat').at(-1)!.body;
    expect(sent.messages.at(-1)).toMatchObject({ role: 'tool', content: 'Rain', tool_name: 'get_weather' });
  });
});
