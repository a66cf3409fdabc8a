/**
 * GET /api/tags answered from cached bytes in front of Fastify (src/http/fast-answers.ts):
 * a client cannot tell it from the Fastify route, and every request that needs the
 * access-control hooks (Origin, Host, keys) or a fresh catalog still goes through them.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'undici';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { parseModelFilter } from '../../src/core/model-filter.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
const logLines: string[] = [];

async function get(path: string, headers: Record<string, string> = {}, base = gateway.url) {
  const response = await request(`${base}${path}`, { headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

/** Whether the next GET of `path` is answered by the fast path (it returns true) or by Fastify. */
async function servedFast(path: string, headers: Record<string, string> = {}): Promise<{ fast: boolean; answer: Awaited<ReturnType<typeof get>> }> {
  const spy = vi.spyOn(gateway.app.fastAnswers, 'answer');
  try {
    const answer = await get(path, headers);
    return { fast: spy.mock.results.some((result) => result.value === true), answer };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  gateway = await startGateway(fake.baseUrl, { LOG_LEVEL: 'info' }, { logDestination: destination });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

describe('GET /api/tags from cached bytes', () => {
  it('answers a plain request itself, with the body and headers of the Fastify route', async () => {
    const fast = await servedFast('/api/tags');
    // A query string is not the exact path: Fastify answers it, through every hook.
    const routed = await servedFast('/api/tags?refresh=1');
    expect(fast.fast).toBe(true);
    expect(routed.fast).toBe(false);
    expect(fast.answer.status).toBe(200);
    expect(fast.answer.text).toBe(routed.answer.text);
    expect(JSON.parse(fast.answer.text).models.length).toBeGreaterThan(0);
    for (const name of ['content-type', 'content-length', 'vary', 'connection', 'keep-alive']) {
      expect(fast.answer.headers[name], name).toBe(routed.answer.headers[name]);
    }
  });

  it('logs the request at info level, without the URL path key or query', async () => {
    logLines.length = 0;
    await get('/api/tags');
    const completed = logLines.map((line) => JSON.parse(line)).find((line) => line.msg === 'request completed');
    expect(completed).toMatchObject({ req: { method: 'GET', url: '/api/tags' }, res: { statusCode: 200 } });
    expect(typeof completed.responseTime).toBe('number');
  });

  it('leaves a request with an Origin to the CORS hooks', async () => {
    const allowed = await servedFast('/api/tags', { origin: 'http://localhost:3000' });
    expect(allowed.fast).toBe(false);
    expect(allowed.answer.status).toBe(200);
    expect(allowed.answer.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const refused = await servedFast('/api/tags', { origin: 'https://evil.example' });
    expect(refused.fast).toBe(false);
    expect(refused.answer.status).toBe(403);
    expect(JSON.parse(refused.answer.text).error).toContain('origin');
  });

  it('leaves a foreign Host header to the DNS-rebinding guard', async () => {
    const refused = await servedFast('/api/tags', { host: 'attacker.example' });
    expect(refused.fast).toBe(false);
    expect(refused.answer.status).toBe(403);
    expect(JSON.parse(refused.answer.text).error).toContain('attacker.example');
  });

  it('serves the new list as soon as the models filter changes', async () => {
    const before = JSON.parse((await get('/api/tags')).text).models as Array<{ name: string }>;
    const kept = before[0]!.name.replace(/:latest$/, '');
    gateway.app.catalog.setFilter(parseModelFilter(kept));
    try {
      const after = await servedFast('/api/tags');
      expect(after.fast).toBe(true);
      expect(JSON.parse(after.answer.text).models.map((model: { name: string }) => model.name)).toEqual([before[0]!.name]);
    } finally {
      gateway.app.catalog.setFilter(parseModelFilter(''));
    }
  });

  it('never answers for a gateway with keys: the key hook runs', async () => {
    const keyed = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'only-key' });
    try {
      const spy = vi.spyOn(keyed.app.fastAnswers, 'answer');
      expect((await get('/api/tags', {}, keyed.url)).status).toBe(401);
      expect((await get('/api/tags', { authorization: 'Bearer only-key' }, keyed.url)).status).toBe(200);
      expect(spy.mock.results.every((result) => result.value === false)).toBe(true);
    } finally {
      await keyed.close();
    }
  });

  it('lets Fastify answer while the catalog is due for a refresh', async () => {
    const due = vi.spyOn(gateway.app.catalog, 'freshSnapshot').mockReturnValue(undefined);
    try {
      const stale = await servedFast('/api/tags');
      expect(stale.fast).toBe(false);
      expect(stale.answer.status).toBe(200);
      expect(JSON.parse(stale.answer.text).models.length).toBeGreaterThan(0);
    } finally {
      due.mockRestore();
    }
  });
});
