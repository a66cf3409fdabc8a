/**
 * What a gateway with --redis-url does when Redis fails it (README, "Several instances"):
 * unreachable at start, it starts and serves, limits counted per instance; budgets use its
 * own spend for a minute after Redis was last seen, then refuse with 503 (in the client's
 * dialect, with Retry-After) until Redis is back; a Redis that stops answering (a frozen
 * process) costs a request at most the command timeout, never a hang.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';

let fake: FakeOpenRouter;
let directory: string;
let keysFile: string;
const keys: Record<string, string> = {};

async function call(gateway: TestGateway, path: string, key: string | undefined, body?: unknown) {
  const started = Date.now();
  const response = await request(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text), tookMs: Date.now() - started };
}

const chat = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-redis-faults-'));
  keysFile = join(directory, 'keys.json');
  for (const [name, options] of [['limited', { requestsPerMinute: 2 }], ['budgeted', { budgetUsd: 5, budgetPeriod: 'month' }]] as const) {
    keys[name] = createKeyCommand({ keysFile, name, ...options }).trimEnd().split('\n').at(-1)!;
  }
  expect(JSON.parse(readFileSync(keysFile, 'utf8')).keys).toHaveLength(2);
});
afterAll(async () => {
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a Redis unreachable from the start', () => {
  let gateway: TestGateway;
  let offsetMs = 0;
  beforeAll(async () => {
    // Nothing listens on port 9 (discard): every connection is refused.
    gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, REDIS_URL: 'redis://:a-redis-password@127.0.0.1:9' }, { now: () => Date.now() + offsetMs });
  });
  afterAll(async () => gateway?.close());

  it('starts and serves; /health/ready stays ready and says redis is down', async () => {
    expect((await call(gateway, '/api/chat', keys.budgeted, chat)).status).toBe(200);
    const ready = await call(gateway, '/health/ready', undefined);
    expect(ready.status).toBe(200);
    expect(ready.json().redis.state).toMatch(/^(down|connecting)$/);
    expect(ready.text).not.toContain('a-redis-password');
  });

  it('counts rate limits on its own meanwhile', async () => {
    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt++) statuses.push((await call(gateway, '/api/chat', keys.limited, chat)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('refuses requests with a budget (503, Retry-After, each dialect) once Redis has been gone a minute; requests without one still pass', async () => {
    offsetMs = 61_000;
    const ollama = await call(gateway, '/api/chat', keys.budgeted, chat);
    expect(ollama.status).toBe(503);
    expect(ollama.headers['retry-after']).toBe('10');
    expect(ollama.json()).toEqual({ error: 'spend cannot be checked: the shared budget store (Redis) has been unreachable for more than a minute; retry later' });
    const openAi = await call(gateway, '/v1/chat/completions', keys.budgeted, chat);
    expect(openAi.status).toBe(503);
    expect(openAi.json().error).toMatchObject({ message: expect.stringContaining('spend cannot be checked') as unknown, code: 'budget_unavailable' });
    // A key without a budget has nothing to check.
    offsetMs = 120_000;
    expect((await call(gateway, '/api/tags', keys.limited)).status).toBe(200);
  });
});

describe.skipIf(!redisAvailable())('a Redis that stops answering', () => {
  let redis: TestRedis;
  let gateway: TestGateway;
  beforeAll(async () => {
    redis = await startRedis();
    gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, REDIS_URL: redis.url });
    const deadline = Date.now() + 5_000;
    while (gateway.app.sharedStore?.readiness().state !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  });
  afterAll(async () => {
    await gateway?.close();
    await redis?.stop();
  });

  it('costs a request at most the command timeout (300 ms) per Redis call, then answers from local state', async () => {
    expect(gateway.app.sharedStore?.readiness().state).toBe('ready');
    redis.freeze();
    try {
      const answer = await call(gateway, '/api/chat', keys.budgeted, chat);
      expect(answer.status).toBe(200);
      // The budget read and the rate-limit script each wait at most 300 ms.
      expect(answer.tookMs).toBeLessThan(1_500);
    } finally {
      redis.thaw();
    }
  });
});
