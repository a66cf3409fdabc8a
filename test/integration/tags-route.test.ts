/**
 * GET /api/tags, the route clients poll most: answered through Fastify's whole pipeline (every
 * hook sees it: access control, the request log, usage, metrics), from a body serialised once
 * per catalog snapshot.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { parseModelFilter } from '../../src/core/model-filter.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let app: FastifyInstance;
let baseUrl: string;
const logLines: string[] = [];
/** The URLs each hook saw, in order. */
const hooksSaw = { onRequest: [] as string[], preHandler: [] as string[], onResponse: [] as string[] };
/** What the /api/tags handler gave Fastify to send, as an onSend hook sees it. */
const sentPayloads: unknown[] = [];

async function get(path: string, headers: Record<string, string> = {}, base = baseUrl, method: 'GET' | 'HEAD' = 'GET') {
  const response = await request(`${base}${path}`, { method, headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''));
      callback();
    },
  });
  const config = loadConfig({
    overrides: { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: fake.baseUrl, PORT: 0, LOG_LEVEL: 'info' },
    envFile: false,
    readProcessEnv: false,
  });
  app = await buildApp({ config, logDestination: destination });
  // Hooks added after the gateway's own, as a metrics or audit plugin would add them.
  app.addHook('onRequest', async (request) => void hooksSaw.onRequest.push(request.url));
  app.addHook('preHandler', async (request) => void hooksSaw.preHandler.push(request.url));
  app.addHook('onResponse', async (request) => void hooksSaw.onResponse.push(request.url));
  app.addHook('onSend', async (request, _reply, payload) => {
    if (request.url === '/api/tags' && request.method === 'GET') sentPayloads.push(payload);
    return payload;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.catalog.start();
  const address = app.server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
});
afterAll(async () => {
  app?.server.closeAllConnections();
  await app?.close();
  await fake?.close();
});

describe('GET /api/tags', () => {
  it('runs every hook, on an open gateway with no Origin: nothing answers it in front of Fastify', async () => {
    for (const hook of Object.values(hooksSaw)) hook.length = 0;
    const answer = await get('/api/tags');
    expect(answer.status).toBe(200);
    expect(hooksSaw).toEqual({ onRequest: ['/api/tags'], preHandler: ['/api/tags'], onResponse: ['/api/tags'] });
  });

  it('answers the same bytes and headers with or without a query string, HEAD with the headers alone', async () => {
    const plain = await get('/api/tags');
    const withQuery = await get('/api/tags?refresh=1');
    expect(plain.status).toBe(200);
    expect(withQuery.text).toBe(plain.text);
    expect(JSON.parse(plain.text).models.length).toBeGreaterThan(0);
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(plain.headers['content-length'])).toBe(Buffer.byteLength(plain.text));
    for (const name of ['content-type', 'content-length']) expect(withQuery.headers[name], name).toBe(plain.headers[name]);
    const head = await get('/api/tags', {}, baseUrl, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    expect(head.headers['content-length']).toBe(plain.headers['content-length']);
  });

  it('sends the body built once per catalog snapshot: the same Buffer until the catalog changes', async () => {
    sentPayloads.length = 0;
    await get('/api/tags');
    await get('/api/tags');
    expect(sentPayloads).toHaveLength(2);
    expect(Buffer.isBuffer(sentPayloads[0])).toBe(true);
    expect(sentPayloads[1]).toBe(sentPayloads[0]);
    const kept = (JSON.parse((sentPayloads[0] as Buffer).toString('utf8')).models as Array<{ name: string }>)[0]!.name;
    app.catalog.setFilter(parseModelFilter(kept));
    try {
      await get('/api/tags');
      expect(sentPayloads[2]).not.toBe(sentPayloads[0]);
    } finally {
      app.catalog.setFilter(parseModelFilter(''));
    }
  });

  it('logs the request once, with Fastify\'s request id', async () => {
    logLines.length = 0;
    await get('/api/tags');
    // The line is written when the response closes, just after the client has the answer.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const completed = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ method: 'GET', url: '/api/tags', route: '/api/tags', status: 200 });
    expect(completed[0].reqId).toBeDefined();
    expect(typeof completed[0].durationMs).toBe('number');
  });

  it('answers an allowed Origin with CORS headers and refuses another', async () => {
    const allowed = await get('/api/tags', { origin: 'http://localhost:3000' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const refused = await get('/api/tags', { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error).toContain('origin');
  });

  it('refuses a foreign Host header (DNS rebinding)', async () => {
    const refused = await get('/api/tags', { host: 'attacker.example' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.text).error).toContain('attacker.example');
  });

  it('serves the new list as soon as the models filter changes', async () => {
    const before = JSON.parse((await get('/api/tags')).text).models as Array<{ name: string }>;
    const kept = before[0]!.name.replace(/:latest$/, '');
    app.catalog.setFilter(parseModelFilter(kept));
    try {
      const after = JSON.parse((await get('/api/tags')).text).models as Array<{ name: string }>;
      expect(after.map((model) => model.name)).toEqual([before[0]!.name]);
    } finally {
      app.catalog.setFilter(parseModelFilter(''));
    }
    expect(JSON.parse((await get('/api/tags')).text).models).toHaveLength(before.length);
  });

  it('answers a request made before the catalog has a list once the list arrives, and one it cannot get as 503 in the Ollama dialect', async () => {
    // Not started: the first request fetches the list and waits for it (the path that is not the fresh catalog's).
    const overrides = { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: fake.baseUrl, PORT: 0 };
    const waiting = await buildApp({ config: loadConfig({ overrides, envFile: false, readProcessEnv: false }), logger: false });
    const unreachable = await buildApp({ config: loadConfig({ overrides: { ...overrides, OPENROUTER_BASE_URL: 'http://127.0.0.1:9/api/v1' }, envFile: false, readProcessEnv: false }), logger: false });
    try {
      const waitingUrl = await waiting.listen({ host: '127.0.0.1', port: 0 });
      const answer = await get('/api/tags', {}, waitingUrl);
      expect(answer.status).toBe(200);
      expect(answer.text).toBe((await get('/api/tags')).text);
      const unreachableUrl = await unreachable.listen({ host: '127.0.0.1', port: 0 });
      const refused = await get('/api/tags', {}, unreachableUrl);
      expect(refused.status).toBe(503);
      expect(typeof JSON.parse(refused.text).error).toBe('string');
    } finally {
      await waiting.close();
      await unreachable.close();
    }
  });

  it('asks for a key on a gateway with keys', async () => {
    const keyed = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'only-key' });
    try {
      expect((await get('/api/tags', {}, keyed.url)).status).toBe(401);
      expect((await get('/api/tags', { authorization: 'Bearer only-key' }, keyed.url)).status).toBe(200);
    } finally {
      await keyed.close();
    }
  });
});
