/**
 * GET /health/live and /health/ready over real HTTP: ready when some backend has a model
 * catalog and the usage ledger (when on) is writable, else 503 with the reason; live while the
 * process serves, whatever the backends do. Both public and answered to HEAD.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeOpenRouter(): Promise<FakeOpenRouter> {
  const fake = await startFakeOpenRouter();
  cleanups.push(() => fake.close());
  return fake;
}

async function fakeOllama(): Promise<FakeOllama> {
  const fake = await startFakeOllama();
  cleanups.push(() => fake.close());
  return fake;
}

async function gatewayOver(openRouterUrl: string, overrides: Record<string, unknown> = {}): Promise<TestGateway> {
  const gateway = await startGateway(openRouterUrl, overrides);
  cleanups.push(() => gateway.close());
  return gateway;
}

async function get(url: string, method: 'GET' | 'HEAD' = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; body: any; text: string; headers: Record<string, unknown> }> {
  const response = await request(url, { method, headers });
  const text = await response.body.text();
  return { status: response.statusCode, text, body: text === '' ? undefined : JSON.parse(text), headers: response.headers };
}

describe('GET /health/ready', () => {
  it('is 200 with each backend and the ledger when a backend has its catalog', async () => {
    const openRouter = await fakeOpenRouter();
    const ollama = await fakeOllama();
    const gateway = await gatewayOver(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
    const ready = await get(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers['content-type']).toMatch(/^application\/json/);
    expect(ready.headers['cache-control']).toBe('no-store');
    expect(ready.body.status).toBe('ready');
    expect(ready.body.reason).toBeUndefined();
    for (const name of ['openrouter', 'ollama']) {
      const backend = ready.body.backends[name];
      expect(backend, name).toMatchObject({ state: 'up', last_error: null });
      expect(backend.models).toBeGreaterThan(0);
      expect(backend.catalog_age_seconds).toBeGreaterThanOrEqual(0);
      expect(backend.catalog_age_seconds).toBeLessThan(60);
    }
    expect(['off', 'writable']).toContain(ready.body.usage_ledger.state);
    expect((await get(`${gateway.url}/health/ready`, 'HEAD')).status).toBe(200);
  });

  it('stays 200 while one of two backends is down, and says which and why', async () => {
    const openRouter = await fakeOpenRouter();
    const ollama = await fakeOllama();
    ollama.failTags(500);
    const gateway = await gatewayOver(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
    const ready = await get(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.backends.openrouter.state).toBe('up');
    expect(ready.body.backends.ollama).toMatchObject({ state: 'failing', models: 0, catalog_age_seconds: null });
    expect(ready.body.backends.ollama.last_error).toEqual(expect.any(String));
  });

  it('is 503 with the reason when no backend has a catalog; live stays 200', async () => {
    const openRouter = await fakeOpenRouter();
    openRouter.failModels(500);
    const gateway = await gatewayOver(openRouter.baseUrl);
    const ready = await get(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not_ready');
    expect(ready.body.reason).toMatch(/^no backend has a model catalog \(openrouter: .+\)$/);
    expect(ready.body.backends.openrouter).toMatchObject({ state: 'failing', models: 0, catalog_age_seconds: null });
    expect(ready.body.backends.openrouter.last_error).toEqual(expect.any(String));
    expect(ready.text).not.toContain(FAKE_API_KEY);
    expect((await get(`${gateway.url}/health/ready`, 'HEAD')).status).toBe(503);
    const live = await get(`${gateway.url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'live' });
    expect((await get(`${gateway.url}/health/live`, 'HEAD')).status).toBe(200);
  });

  it('is 503 when a stopped backend was never listed (the only one)', async () => {
    const ollama = await fakeOllama();
    const url = ollama.baseUrl;
    await ollama.close();
    const gateway = await gatewayOver('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: url });
    const ready = await get(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/^no backend has a model catalog \(ollama: .+\)$/);
    expect(ready.body.backends.ollama.state).toBe('failing');
    expect((await get(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it('is 503 when the usage ledger is not writable, with its reason', async () => {
    const openRouter = await fakeOpenRouter();
    const gateway = await gatewayOver(openRouter.baseUrl);
    gateway.app.usageLedgerHealth = { health: () => ({ writable: false, reason: 'disk I/O error' }) };
    const ready = await get(`${gateway.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', reason: 'the usage ledger is not writable: disk I/O error', usage_ledger: { state: 'not_writable', reason: 'disk I/O error' } });
    expect(ready.body.backends.openrouter.state).toBe('up');
    gateway.app.usageLedgerHealth = { health: () => ({ writable: true }) };
    const again = await get(`${gateway.url}/health/ready`);
    expect(again.status).toBe(200);
    expect(again.body.usage_ledger).toEqual({ state: 'writable' });
    gateway.app.usageLedgerHealth = undefined;
    expect((await get(`${gateway.url}/health/ready`)).body.usage_ledger).toEqual({ state: 'off' });
  });
});

describe('the health endpoints with client keys configured', () => {
  it('answer without a key, and are never rate limited', async () => {
    const openRouter = await fakeOpenRouter();
    const gateway = await gatewayOver(openRouter.baseUrl, { BRIDGE_API_KEYS: 'health-test-key-0123456789', RATE_LIMIT_RPM: 1 });
    for (let index = 0; index < 3; index++) {
      expect((await get(`${gateway.url}/health/live`)).status).toBe(200);
      expect((await get(`${gateway.url}/health/ready`)).status).toBe(200);
      expect((await get(`${gateway.url}/health/ready`, 'HEAD')).status).toBe(200);
    }
    // Other routes still need the key.
    expect((await get(`${gateway.url}/api/tags`)).status).toBe(401);
  });
});
