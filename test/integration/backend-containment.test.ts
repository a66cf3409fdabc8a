/**
 * One failing backend stays contained: with an upstream Ollama whose catalog fails next to a
 * healthy OpenRouter, OpenRouter's models are served, Ollama's are added once it answers,
 * request traffic never refreshes the failing backend ahead of its backoff, and each state
 * change is logged once. Real HTTP, fake upstreams.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { ollamaFails?: boolean; openRouterFails?: boolean } = {}): Promise<{ ollama: FakeOllama; openRouter: FakeOpenRouter; gateway: TestGateway; logs: () => Array<{ level: number; msg: string }> }> {
  const [openRouter, ollama] = await Promise.all([startFakeOpenRouter(), startFakeOllama()]);
  cleanups.push(() => openRouter.close(), () => ollama.close());
  if (options.ollamaFails) ollama.failTags(500);
  if (options.openRouterFails) openRouter.failModels(503);
  let logText = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, LOG_LEVEL: 'info' }, { logDestination: destination });
  cleanups.push(() => gateway.close());
  const logs = () => logText.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { level: number; msg: string });
  return { ollama, openRouter, gateway, logs };
}

async function get(gateway: TestGateway, path: string): Promise<{ status: number; headers: Record<string, unknown>; json: any }> {
  const response = await request(`${gateway.url}${path}`);
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: JSON.parse(text) };
}

async function post(gateway: TestGateway, path: string, body: unknown): Promise<{ status: number; json: any }> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.statusCode, json: await response.body.json() };
}

const tagNames = async (gateway: TestGateway): Promise<string[]> => (await get(gateway, '/api/tags')).json.models.map((model: { name: string }) => model.name);

/** Polls until `check` passes or 5 s have gone by. */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('a failing Ollama catalog next to a healthy OpenRouter', () => {
  it('serves OpenRouter at once, adds Ollama when it recovers, and keeps its last good list when it fails again', async () => {
    const { ollama, gateway, logs } = await setUp({ ollamaFails: true });
    const names = await tagNames(gateway);
    expect(names).toContain('openai/gpt-4o:latest');
    expect(names).not.toContain('llama3.2:latest');
    const chat = await post(gateway, '/api/chat', { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(200);
    const local = await post(gateway, '/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] });
    expect(local).toMatchObject({ status: 404, json: { error: "model 'llama3.2' not found" } });
    expect(gateway.app.catalog.backendStates().map((backend) => [backend.name, backend.state])).toEqual([['ollama', 'failing'], ['openrouter', 'up']]);

    ollama.failTags(undefined);
    await eventually(async () => expect(await tagNames(gateway)).toContain('llama3.2:latest'));
    expect((await post(gateway, '/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);

    ollama.failTags(500);
    await gateway.app.catalog.refresh();
    expect(gateway.app.catalog.backendStates()[0]).toMatchObject({ name: 'ollama', state: 'failing', models: 5 });
    expect(await tagNames(gateway)).toContain('llama3.2:latest');

    const aboutOllama = logs().filter((line) => line.level >= 30 && /ollama/.test(line.msg)).map((line) => line.msg);
    expect(aboutOllama).toEqual([
      "could not fetch ollama's model list; the other backends are served meanwhile; retrying with backoff",
      'ollama answers again: serving its 5 models',
      "could not refresh ollama's model list; serving its last good list and retrying with backoff",
    ]);
  });

  it('does not let request traffic refresh the failing backend ahead of its backoff', async () => {
    const { ollama, gateway } = await setUp({ ollamaFails: true });
    const tagsCalls = (): number => ollama.requestsTo('/api/tags').length;
    expect(tagsCalls()).toBe(1);
    const started = Date.now();
    // 200 requests in the first 400 ms, well inside the first retry delay (0.5 to 1 s).
    for (let round = 0; round < 40; round++) {
      await Promise.all([
        tagNames(gateway),
        get(gateway, '/v1/models'),
        post(gateway, '/api/show', { model: 'openai/gpt-4o' }),
        post(gateway, '/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
        get(gateway, '/api/ps'),
      ]);
      if (Date.now() - started > 400) break;
    }
    expect(Date.now() - started).toBeLessThan(500);
    expect(tagsCalls()).toBe(1);
    // The timer retries on its own, request or not.
    await eventually(async () => expect(tagsCalls()).toBeGreaterThanOrEqual(2));
  });
});

describe('no backend has ever answered', () => {
  it('answers 503 with the reasons in either dialect, with Retry-After', async () => {
    const { gateway } = await setUp({ ollamaFails: true, openRouterFails: true });
    const tags = await get(gateway, '/api/tags');
    expect(tags.status).toBe(503);
    expect(tags.json.error).toMatch(/^the model catalog is not available yet \(.*tags unavailable.*; .*models unavailable.*\); try again shortly$/);
    expect(Number(tags.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const models = await get(gateway, '/v1/models');
    expect(models.status).toBe(503);
    expect(models.json.error.message).toBe(tags.json.error);
  });
});
