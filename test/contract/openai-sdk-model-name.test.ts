/**
 * The real `openai` npm client sees the model named as it named it (an alias, a short name),
 * never the upstream's dated id, on every /v1 path: the OpenRouter relay (stream and not),
 * the translating path over an upstream Ollama, and legacy completions. A per-model override
 * (models config) such as `think: false` reaches the upstream on each of those paths too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiChatCompletionChunk } from '../../schemas/openai.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { DEFAULT_MODELS, startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** What OpenRouter answers for `openai/gpt-4o-mini`: the dated id of the model that ran. */
const DATED = 'openai/gpt-4o-mini-2024-07-18';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let client: OpenAI;
let directory: string;

beforeAll(async () => {
  openRouter = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, { id: 'openai/gpt-4o-mini', context_length: 128000, tools: true, reasoning: true, created: 1721260800, tokenizer: 'GPT' }] });
  const dated = (sse: string): string => sse.replaceAll('"model":"fake/model-20260101"', `"model":"${DATED}"`);
  openRouter.script('openai/gpt-4o-mini', { sse: dated(textStream(['Hello', ' from', ' mini'], 'stop', [5, 3])) });
  ollama = await startFakeOllama();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-model-name-'));
  const modelsConfig = join(directory, 'models.yaml');
  writeFileSync(modelsConfig, [
    'aliases:',
    '  coder: openai/gpt-4o-mini',
    '  local: qwen3:8b',
    'models:',
    '  coder:',
    '    think: false',
    '    temperature: 0.2',
    '  local:',
    '    think: false',
    '',
  ].join('\n'));
  gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, MODELS_CONFIG: modelsConfig });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'ollama', maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([openRouter?.close(), ollama?.close()]);
  rmSync(directory, { recursive: true, force: true });
});

const messages = [{ role: 'user' as const, content: 'hi' }];
const lastOpenRouterBody = (): any => openRouter.chatRequests().at(-1)!.body;
const lastOllamaBody = (): any => ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body;

describe('/v1/chat/completions names the model as the client did', () => {
  it('over the OpenRouter relay, without streaming: the alias, not the dated id', async () => {
    const completion = await client.chat.completions.create({ model: 'coder', messages });
    expect(completion.model).toBe('coder');
    expect(completion.choices[0]!.message.content).toBe('Hello from mini');
    const short = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(short.model).toBe('gpt-4o-mini');
  });

  it('over the OpenRouter relay, streaming: in every chunk', async () => {
    for (const model of ['coder', 'gpt-4o-mini', 'openai/gpt-4o-mini:latest']) {
      const seen: string[] = [];
      let text = '';
      const stream = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) {
        OpenAiChatCompletionChunk.parse(chunk);
        seen.push(chunk.model);
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe('Hello from mini');
      expect(seen.length).toBeGreaterThan(4);
      expect(new Set(seen), model).toEqual(new Set([model]));
    }
  });

  it('over an upstream Ollama (the translating path), stream and not', async () => {
    expect((await client.chat.completions.create({ model: 'local', messages })).model).toBe('local');
    const stream = await client.chat.completions.create({ model: 'local', messages, stream: true });
    const seen = new Set<string>();
    for await (const chunk of stream) seen.add(chunk.model);
    expect(seen).toEqual(new Set(['local']));
  });

  it('on legacy /v1/completions, stream and not', async () => {
    for (const model of ['coder', 'local']) {
      expect((await client.completions.create({ model, prompt: 'hi' })).model).toBe(model);
      const stream = await client.completions.create({ model, prompt: 'hi', stream: true });
      const seen = new Set<string>();
      for await (const chunk of stream) seen.add(chunk.model);
      expect(seen).toEqual(new Set([model]));
    }
  });
});

describe('a per-model override applies on /v1', () => {
  it('think: false (and temperature) on the relay, stream and not, unless the client sets its own', async () => {
    await client.chat.completions.create({ model: 'coder', messages });
    expect(lastOpenRouterBody()).toMatchObject({ model: 'openai/gpt-4o-mini', reasoning_effort: 'none', temperature: 0.2 });
    for await (const chunk of await client.chat.completions.create({ model: 'coder', messages, stream: true })) void chunk;
    expect(lastOpenRouterBody()).toMatchObject({ reasoning_effort: 'none', temperature: 0.2 });
    await client.chat.completions.create({ model: 'coder', messages, reasoning_effort: 'high', temperature: 1 });
    expect(lastOpenRouterBody()).toMatchObject({ reasoning_effort: 'high', temperature: 1 });
  });

  it('think: false on the translating path and on legacy completions', async () => {
    await client.chat.completions.create({ model: 'local', messages });
    expect(lastOllamaBody()).toMatchObject({ model: 'qwen3:8b', think: false });
    await client.completions.create({ model: 'local', prompt: 'hi' });
    expect(lastOllamaBody()).toMatchObject({ model: 'qwen3:8b', think: false });
    await client.completions.create({ model: 'coder', prompt: 'hi' });
    expect(lastOpenRouterBody()).toMatchObject({ model: 'openai/gpt-4o-mini', reasoning: { enabled: false }, temperature: 0.2 });
  });
});
