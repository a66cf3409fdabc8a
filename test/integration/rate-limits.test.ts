/**
 * Rate limits over real HTTP: per client address when no keys are configured, per key
 * otherwise; routes that cost nothing upstream (listing, show, version, ps, HEAD) spend no
 * budget and are never refused for it.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
/** A second client address on the loopback network (Linux routes all of 127/8 to lo). */
const otherAddress = new Agent({
  connect: (options, callback) => {
    const socket = connect({ host: options.hostname, port: Number(options.port), localAddress: '127.0.0.2' });
    socket.once('connect', () => callback(null, socket));
    socket.once('error', (error) => callback(error, null));
  },
});

async function call(base: string, path: string, options: { method?: 'GET' | 'POST' | 'HEAD'; headers?: Record<string, string>; body?: unknown; dispatcher?: Agent } = {}) {
  const response = await request(`${base}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: options.headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}

const chat = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };

/** Every route that costs nothing upstream, called `times` times each; all must answer 200. */
async function callFreeRoutes(base: string, headers: Record<string, string>, times: number): Promise<void> {
  for (let round = 0; round < times; round++) {
    const answers = await Promise.all([
      call(base, '/', { headers }),
      call(base, '/', { method: 'HEAD', headers }),
      call(base, '/api/version', { headers }),
      call(base, '/api/tags', { headers }),
      call(base, '/api/tags?round=1', { headers }),
      call(base, '/api/tags', { method: 'HEAD', headers }),
      call(base, '/api/show', { headers, body: { model: 'openai/gpt-4o' } }),
      call(base, '/api/ps', { headers }),
      call(base, '/v1/models', { headers }),
      call(base, '/v1/models/openai/gpt-4o', { headers }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
  }
}

beforeAll(async () => {
  fake = await startFakeOpenRouter();
});
afterAll(async () => {
  await otherAddress.close();
  await fake?.close();
});

describe('rate limits without keys', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(fake.baseUrl, { RATE_LIMIT_RPM: 2 });
  });
  afterAll(async () => gateway?.close());

  it('applies --rate-limit-rpm per client address, in each dialect, and free routes spend nothing', async () => {
    await callFreeRoutes(gateway.url, {}, 3);
    expect((await call(gateway.url, '/api/chat', { body: chat })).status).toBe(200);
    expect((await call(gateway.url, '/v1/chat/completions', { body: { ...chat, stream: false } })).status).toBe(200);

    const refused = await call(gateway.url, '/api/chat', { body: chat });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json().error).toMatch(/^rate limit of 2 requests per minute reached; retry in \d+ s$/);
    const openai = await call(gateway.url, '/v1/chat/completions', { body: chat });
    expect(openai.status).toBe(429);
    expect(openai.json().error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });

    // Listing and showing still answer once the budget is spent.
    await callFreeRoutes(gateway.url, {}, 1);
    // Another address has its own budget.
    expect((await call(gateway.url, '/api/chat', { body: chat, dispatcher: otherAddress })).status).toBe(200);
  });
});

describe('rate limits per key', () => {
  it('Copilot-style discovery (show per model, tags, version) does not spend the key budget', async () => {
    const gateway = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'rpm-key', RATE_LIMIT_RPM: 2 });
    try {
      const headers = { authorization: 'Bearer rpm-key' };
      await callFreeRoutes(gateway.url, headers, 3);
      expect((await call(gateway.url, '/api/chat', { headers, body: chat })).status).toBe(200);
      expect((await call(gateway.url, '/api/generate', { headers, body: { model: 'openai/gpt-4o', stream: false, prompt: 'hi' } })).status).toBe(200);
      expect((await call(gateway.url, '/api/chat', { headers, body: chat })).status).toBe(429);
      await callFreeRoutes(gateway.url, headers, 1);
      // Free routes still need a valid key.
      expect((await call(gateway.url, '/api/show', { body: { model: 'openai/gpt-4o' } })).status).toBe(401);
    } finally {
      await gateway.close();
    }
  });

  it('applies --rate-limit-tpm per client address without keys', async () => {
    const gateway = await startGateway(fake.baseUrl, { RATE_LIMIT_TPM: 10 });
    try {
      const body = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'a long enough question to use tokens' }] };
      expect((await call(gateway.url, '/api/chat', { body })).status).toBe(200);
      const next = await call(gateway.url, '/api/chat', { body });
      expect(next.status).toBe(429);
      expect(next.json().error).toContain('10 tokens per minute');
      expect((await call(gateway.url, '/api/show', { body: { model: 'openai/gpt-4o' } })).status).toBe(200);
      expect((await call(gateway.url, '/api/chat', { body, dispatcher: otherAddress })).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});
