/**
 * The /v1 passthrough forwards exactly what was checked: an allow-list of fields, and every
 * model the body names (`model`, each of `models`) resolved through the catalog (models
 * filter included) and the key's model list, sent as upstream ids. Checked on what the fake
 * OpenRouter received, with a key limited to `*:free` and a gateway with a models filter.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpenAiErrorResponse } from '../../schemas/openai.js';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { DEFAULT_MODELS, startFakeOpenRouter, type FakeModel, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const MODELS: FakeModel[] = [
  ...DEFAULT_MODELS,
  { id: 'meta-llama/llama-3.3-70b-instruct:free', context_length: 131072, tools: true, created: 1733506138 },
  { id: 'qwen/qwen3-coder:free', context_length: 131072, tools: true, created: 1733506139 },
  { id: 'anthropic/claude-opus-4', context_length: 200000, tools: true, created: 1747000000 },
];

let fake: FakeOpenRouter;
let ollama: FakeOllama;
let directory: string;
let keyed: TestGateway;
let filtered: TestGateway;
let logged: TestGateway;
const logLines: string[] = [];
let freeKey: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: MODELS });
  ollama = await startFakeOllama();
  directory = mkdtempSync(join(tmpdir(), 'passthrough-fields-'));
  const keysFile = join(directory, 'keys.json');
  freeKey = createKeyCommand({ keysFile, name: 'free-only', models: ['*:free'] }).trimEnd().split('\n').at(-1)!;
  writeFileSync(join(directory, 'filter.txt'), '*:free\nopenai/*\n');
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== '')));
  [keyed, filtered, logged] = await Promise.all([
    startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile }),
    startGateway(fake.baseUrl, { MODELS_FILTER: join(directory, 'filter.txt') }),
    startGateway(fake.baseUrl, { LOG_LEVEL: 'debug' }, { logDestination: logStream }),
  ]);
});
afterAll(async () => {
  await Promise.all([keyed?.close(), filtered?.close(), logged?.close()]);
  await Promise.all([fake?.close(), ollama?.close()]);
  rmSync(directory, { recursive: true, force: true });
});

const user = [{ role: 'user', content: 'hi' }];

async function post(on: TestGateway, body: Record<string, unknown>, key?: string) {
  const response = await request(`${on.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.statusCode, text: await response.body.text() };
}

function lastChatBody(): any {
  return fake.chatRequests().at(-1)!.body;
}

describe('models named in the body, with a key limited to *:free', () => {
  it("refuses a fallback list that names a model the key may not use (403), and OpenRouter hears nothing", async () => {
    const before = fake.chatRequests().length;
    const response = await post(keyed, { model: 'deepseek/deepseek-chat-v3:free', models: ['anthropic/claude-opus-4'], route: 'fallback', messages: user, stream: true }, freeKey);
    expect(response.status).toBe(403);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error).toEqual({
      message: "this API key may not use model 'anthropic/claude-opus-4'", type: 'permission_error', param: null, code: 'forbidden',
    });
    expect(fake.chatRequests().length).toBe(before);
  });

  it('refuses a fallback list with one forbidden model among allowed ones', async () => {
    const response = await post(keyed, { model: 'deepseek/deepseek-chat-v3:free', models: ['qwen/qwen3-coder:free', 'openai/gpt-4o'], messages: user }, freeKey);
    expect(response.status).toBe(403);
    expect(JSON.parse(response.text).error.message).toBe("this API key may not use model 'openai/gpt-4o'");
  });

  it('forwards an allowed fallback list as upstream ids, resolved like model (short names, :latest)', async () => {
    const response = await post(keyed, { model: 'deepseek/deepseek-chat-v3:free', models: ['llama-3.3-70b-instruct:free', 'QWEN/qwen3-coder:free'], route: 'fallback', messages: user }, freeKey);
    expect(response.status).toBe(200);
    expect(lastChatBody()).toEqual({
      model: 'deepseek/deepseek-chat-v3:free',
      models: ['meta-llama/llama-3.3-70b-instruct:free', 'qwen/qwen3-coder:free'],
      messages: user,
    });
  });

  it('answers an unknown fallback with 404 and a malformed list with 400', async () => {
    const unknown = await post(keyed, { model: 'deepseek/deepseek-chat-v3:free', models: ['nobody/nothing:free'], messages: user }, freeKey);
    expect(unknown.status).toBe(404);
    expect(OpenAiErrorResponse.parse(JSON.parse(unknown.text)).error).toMatchObject({ code: 'model_not_found', message: "model 'nobody/nothing:free' not found" });
    for (const models of ['anthropic/claude-opus-4', [42], [''], { 0: 'x' }]) {
      const malformed = await post(keyed, { model: 'deepseek/deepseek-chat-v3:free', models, messages: user }, freeKey);
      expect(malformed.status, JSON.stringify(models)).toBe(400);
      expect(OpenAiErrorResponse.parse(JSON.parse(malformed.text)).error.type).toBe('invalid_request_error');
    }
  });

  it('refuses a fallback served by another backend (an upstream Ollama model)', async () => {
    const open = await startGateway(fake.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
    try {
      const refused = await post(open, { model: 'openai/gpt-4o', models: ['llama3.2'], messages: user });
      expect(refused.status).toBe(400);
      expect(JSON.parse(refused.text).error.message).toBe("model 'llama3.2' is served by another backend and cannot be a fallback for 'openai/gpt-4o'");
    } finally {
      await open.close();
    }
  });
});

describe('the models filter', () => {
  it('applies to every model of the fallback list (404 for a filtered-out one)', async () => {
    const before = fake.chatRequests().length;
    const response = await post(filtered, { model: 'deepseek/deepseek-chat-v3:free', models: ['anthropic/claude-opus-4'], messages: user, stream: true });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text).error.message).toBe("model 'anthropic/claude-opus-4' not found");
    expect(fake.chatRequests().length).toBe(before);
    expect((await post(filtered, { model: 'deepseek/deepseek-chat-v3:free', models: ['openai/gpt-4o'], messages: user })).status).toBe(200);
    expect(lastChatBody().models).toEqual(['openai/gpt-4o']);
  });
});

describe('fields', () => {
  const everything = {
    model: 'gpt-4o', messages: user, stream: true, stream_options: { include_usage: true },
    temperature: 0.2, top_p: 0.9, top_k: 40, min_p: 0.05, top_a: 0.1, seed: 7, frequency_penalty: 0.1, presence_penalty: 0.2, repetition_penalty: 1.1,
    stop: ['END'], max_tokens: 100, max_completion_tokens: 90, logit_bias: { '50256': -100 }, logprobs: true, top_logprobs: 2,
    response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], tool_choice: 'auto', parallel_tool_calls: false,
    reasoning: { effort: 'low' }, include_reasoning: true, verbosity: 'low', user: 'user-1', usage: { include: true }, transforms: ['middle-out'],
    provider: { order: ['anthropic'], only: ['openai'], ignore: ['deepinfra'], sort: 'throughput', allow_fallbacks: false, quantizations: ['fp16'], data_collection: 'deny', zdr: true, require_parameters: true, max_price: { prompt: 1, completion: 2 } },
    plugins: [{ id: 'web', max_results: 'plugin-value-never-logged' }], web_search_options: { search_context_size: 'high' }, service_tier: 'priority', route: 'fallback',
    debug: { echo_upstream_body: true }, n: 3, custom_extra: { kept: false },
  };

  it('forwards the allow-listed fields as sent and the narrowing provider fields; drops paid, routing and unknown ones', async () => {
    const response = await post(logged, everything);
    expect(response.status).toBe(200);
    const { plugins, web_search_options, service_tier, route, debug, n, custom_extra, provider, ...kept } = everything;
    void [plugins, web_search_options, service_tier, route, debug, n, custom_extra];
    expect(lastChatBody()).toEqual({ ...kept, model: 'openai/gpt-4o', provider: { data_collection: 'deny', zdr: true, require_parameters: true, max_price: { prompt: 1, completion: 2 } } });
  });

  it('sends no provider object when none of its fields narrows routing', async () => {
    expect((await post(logged, { model: 'gpt-4o', messages: user, provider: { order: ['anthropic'], sort: 'price' } })).status).toBe(200);
    expect(lastChatBody()).toEqual({ model: 'openai/gpt-4o', messages: user });
  });

  it('names the dropped fields in a debug log line, never their values', async () => {
    await post(logged, everything);
    const line = logLines.map((text) => JSON.parse(text)).filter((entry) => entry.droppedFields !== undefined).at(-1);
    expect(line.droppedFields).toEqual([
      'provider.order', 'provider.only', 'provider.ignore', 'provider.sort', 'provider.allow_fallbacks', 'provider.quantizations',
      'plugins', 'web_search_options', 'service_tier', 'route', 'debug', 'n', 'custom_extra',
    ]);
    expect(logLines.join('\n')).not.toContain('plugin-value-never-logged');
  });

  it('refuses a server tool (paid, e.g. web search) with a 400', async () => {
    const before = fake.chatRequests().length;
    const response = await post(logged, { model: 'gpt-4o', messages: user, tools: [{ type: 'openrouter:web_search', function: { name: 'search' } }] });
    expect(response.status).toBe(400);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error).toMatchObject({
      type: 'invalid_request_error', message: "tools[0]: only function tools are supported, not type 'openrouter:web_search'",
    });
    expect(fake.chatRequests().length).toBe(before);
  });
});
