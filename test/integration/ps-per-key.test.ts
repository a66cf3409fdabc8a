/**
 * /api/ps never shows one key another key's activity: each keyed request sees only the models
 * used with its own key, on every path that records a use; an open gateway sees every use.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY_A = 'key-a-0123456789abcdef0123456789';
const KEY_B = 'key-b-0123456789abcdef0123456789';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let keyed: TestGateway;
let open: TestGateway;

beforeAll(async () => {
  [openRouter, ollama] = await Promise.all([startFakeOpenRouter(), startFakeOllama()]);
  keyed = await startGateway(openRouter.baseUrl, { BRIDGE_API_KEYS: `${KEY_A},${KEY_B}`, OLLAMA_BASE_URL: ollama.baseUrl });
  open = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await Promise.all([keyed?.close(), open?.close()]);
  await Promise.all([openRouter?.close(), ollama?.close()]);
});

async function post(gateway: TestGateway, path: string, body: unknown, key?: string): Promise<number> {
  const response = await request(`${gateway.url}${path}`, {
    method: 'POST',
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  await response.body.text();
  return response.statusCode;
}

async function psNames(gateway: TestGateway, key?: string): Promise<string[]> {
  const response = await request(`${gateway.url}/api/ps`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  expect(response.statusCode).toBe(200);
  return ((await response.body.json()) as { models: Array<{ name: string }> }).models.map((model) => model.name).sort();
}

const hi = [{ role: 'user', content: 'hi' }];

/** One use on each path that records one: translated chat, OpenAI relay, a load request, the Ollama passthrough. */
async function useModels(gateway: TestGateway, keyA?: string, keyB?: string): Promise<void> {
  expect(await post(gateway, '/api/chat', { model: 'openai/gpt-4o', stream: false, messages: hi }, keyA)).toBe(200);
  expect(await post(gateway, '/v1/chat/completions', { model: 'openai/gpt-4.1', messages: hi }, keyA)).toBe(200);
  expect(await post(gateway, '/api/generate', { model: 'deepseek/deepseek-r1' }, keyB)).toBe(200);
  expect(await post(gateway, '/api/chat', { model: 'llama3.2', stream: false, messages: hi }, keyB)).toBe(200);
}

describe('/api/ps per key', () => {
  it('shows each key only the models used with it', async () => {
    await useModels(keyed, KEY_A, KEY_B);
    expect(await psNames(keyed, KEY_A)).toEqual(['openai/gpt-4.1:latest', 'openai/gpt-4o:latest']);
    expect(await psNames(keyed, KEY_B)).toEqual(['deepseek/deepseek-r1:latest', 'llama3.2:latest']);
  });

  it('shows an open gateway every model used recently', async () => {
    await useModels(open);
    expect(await psNames(open)).toEqual(['deepseek/deepseek-r1:latest', 'llama3.2:latest', 'openai/gpt-4.1:latest', 'openai/gpt-4o:latest']);
  });
});
