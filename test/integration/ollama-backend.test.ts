/**
 * A real Ollama as a second backend (issue 4): its models pass through byte for byte, model
 * management is forwarded, both backends share one catalog with a documented tie rule, and
 * with only --ollama-url the gateway is a pure (keyed) front for a local Ollama.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { DEFAULT_MODELS as OLLAMA_MODELS, startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

let ollama: FakeOllama;
let openRouter: FakeOpenRouter;
let both: TestGateway;
let ollamaOnly: TestGateway;

async function call(base: string, path: string, body?: unknown, method?: 'GET' | 'POST' | 'DELETE' | 'HEAD', headers: Record<string, string> = {}) {
  const response = await request(`${base}${path}`, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

beforeAll(async () => {
  ollama = await startFakeOllama();
  ollama.setModels([
    ...OLLAMA_MODELS,
    { ...OLLAMA_MODELS[0]!, name: 'openai/gpt-4o:latest', digest: 'a'.repeat(64) },
  ]);
  openRouter = await startFakeOpenRouter();
  both = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
  ollamaOnly = await startGateway(openRouter.baseUrl, { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_API_KEYS: 'local-key' });
});
afterAll(async () => {
  await both?.close();
  await ollamaOnly?.close();
  await ollama?.close();
  await openRouter?.close();
});

describe('one merged catalog', () => {
  it('lists local Ollama models next to OpenRouter models', async () => {
    const names = JSON.parse((await call(both.url, '/api/tags')).text).models.map((model: { name: string }) => model.name);
    expect(names).toEqual(expect.arrayContaining(['llama3.2:latest', 'qwen3:8b', 'all-minilm:latest', 'anthropic/claude-sonnet-4.5:latest', 'deepseek/deepseek-chat-v3:free']));
  });

  it('a name both backends have goes to the preferred one (Ollama by default)', async () => {
    const before = openRouter.chatRequests().length;
    const answer = await call(both.url, '/api/chat', { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'who answers?' }] });
    expect(answer.status).toBe(200);
    expect(openRouter.chatRequests().length).toBe(before);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body.model).toBe('openai/gpt-4o');
  });

  it('--prefer openrouter turns the rule around', async () => {
    const preferring = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, PREFER_BACKEND: 'openrouter' });
    try {
      const before = openRouter.chatRequests().length;
      await call(preferring.url, '/api/chat', { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'who answers?' }] });
      expect(openRouter.chatRequests().length).toBe(before + 1);
    } finally {
      await preferring.close();
    }
  });
});

describe('byte-for-byte passthrough to the upstream Ollama', () => {
  it('streams /api/chat exactly as Ollama sent it', async () => {
    ollama.script('llama3.2:latest', { ndjson: '{"model":"llama3.2","created_at":"2026-01-05T10:00:00.100000001Z","message":{"role":"assistant","content":"Hi \\u003cthere\\u003e"},"done":false}\n{"model":"llama3.2","created_at":"2026-01-05T10:00:00.200000002Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5,"eval_count":2}\n' });
    const body = '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":4096}}';
    const answer = await call(both.url, '/api/chat', body);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toContain('application/x-ndjson');
    expect(answer.text).toBe('{"model":"llama3.2","created_at":"2026-01-05T10:00:00.100000001Z","message":{"role":"assistant","content":"Hi \\u003cthere\\u003e"},"done":false}\n{"model":"llama3.2","created_at":"2026-01-05T10:00:00.200000002Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":5,"eval_count":2}\n');
    expect(ollama.requestsTo('/api/chat').at(-1)!.rawBody.toString('utf8')).toBe(body);
    ollama.clearScripts();
  });

  it('passes show through with the real model_info, and upstream errors with their status', async () => {
    const show = await call(both.url, '/api/show', { model: 'qwen3:8b' });
    expect(show.status).toBe(200);
    expect(JSON.parse(show.text).model_info['qwen3.context_length']).toBe(40960);
    ollama.script('llama3.2:latest', { status: 503, body: { error: 'server busy, please try again.  maximum pending requests exceeded' } });
    const busy = await call(both.url, '/api/generate', { model: 'llama3.2', prompt: 'x' });
    ollama.clearScripts();
    expect(busy.status).toBe(503);
    expect(busy.text).toBe('{"error":"server busy, please try again.  maximum pending requests exceeded"}');
  });

  it('does not forward the client\'s gateway key upstream', async () => {
    await call(ollamaOnly.url, '/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] }, 'POST', { authorization: 'Bearer local-key' });
    const headers = ollama.requestsTo('/api/chat').at(-1)!.headers;
    expect(headers.authorization).toBeUndefined();
  });

  it('forwards model management: pull progress, copy and delete, and refreshes the catalog', async () => {
    const pull = await call(both.url, '/api/pull', { model: 'mistral:7b' });
    expect(pull.status).toBe(200);
    const lines = parseNdjson(pull.text);
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.at(-1)).toEqual({ status: 'success' });
    const deadline = Date.now() + 3000;
    for (;;) {
      const names = JSON.parse((await call(both.url, '/api/tags')).text).models.map((model: { name: string }) => model.name);
      if (names.includes('mistral:7b')) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const removed = await call(both.url, '/api/delete', { model: 'mistral:7b' }, 'DELETE');
    expect(removed.status).toBe(200);
    const again = await call(both.url, '/api/delete', { model: 'mistral:7b' }, 'DELETE');
    expect(again.status).toBe(404);
    expect(JSON.parse(again.text)).toHaveProperty('error');
  });

  it('streams a blob upload through without parsing it', async () => {
    const bytes = Buffer.from([0, 1, 2, 254, 255, 10, 13]);
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(bytes).digest('hex')}`;
    const upload = await request(`${both.url}/api/blobs/${digest}`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(upload.statusCode).toBe(201);
    await upload.body.text();
    const head = await call(both.url, `/api/blobs/${digest}`, undefined, 'HEAD');
    expect(head.status).toBe(200);
  });
});

describe('translated, not passed through', () => {
  it('an alias of an Ollama model goes through the translating path and echoes the alias', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ollama-bridge-alias-')), 'models.yaml');
    writeFileSync(path, 'aliases:\n  local: llama3.2\n');
    const aliased = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, MODELS_CONFIG: path });
    try {
      const lines = parseNdjson((await call(aliased.url, '/api/chat', { model: 'local', messages: [{ role: 'user', content: 'hi' }] })).text);
      for (const line of lines) expect(line.model).toBe('local');
      expect(lines.at(-1)).toMatchObject({ done: true });
      expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest', stream: true });
    } finally {
      await aliased.close();
    }
  });

  it('the OpenAI front door translates for Ollama models', async () => {
    const answer = await call(both.url, '/v1/chat/completions', { model: 'llama3.2', messages: [{ role: 'user', content: 'hello' }] });
    expect(answer.status).toBe(200);
    const completion = JSON.parse(answer.text);
    expect(completion.object).toBe('chat.completion');
    expect(typeof completion.choices[0].message.content).toBe('string');
  });
});

describe('a pure front for a local Ollama', () => {
  it('runs with only --ollama-url and requires its keys', async () => {
    expect((await call(ollamaOnly.url, '/api/tags')).status).toBe(401);
    const tags = JSON.parse((await call(ollamaOnly.url, '/api/tags', undefined, 'GET', { 'x-api-key': 'local-key' })).text);
    expect(tags.models.map((model: { name: string }) => model.name)).toContain('llama3.2:latest');
    expect(tags.models.map((model: { name: string }) => model.name)).not.toContain('anthropic/claude-sonnet-4.5:latest');
  });
});
