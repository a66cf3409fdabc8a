/**
 * Two gateways on two ports sharing one real Redis (issue 18): a key's requests per minute
 * and its budget spend hold over both (the total, not per gateway); a revocation in one
 * gateway's keys file is refused by the other within a second; /api/ps shows uses made on
 * the other; with Redis killed mid-test both still serve, with per-instance limits, and
 * /health/ready and /metrics say so; Redis back (empty), they share again.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand, revokeKeyCommand } from '../../src/auth/keys-command.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';

const available = redisAvailable();

let fake: FakeOpenRouter;
let redis: TestRedis;
let directory: string;
const keys: Record<string, { key: string; id: string }> = {};
let first: TestGateway;
let second: TestGateway;

function createKey(keysFile: string, name: string, options: { rpm?: number; tpm?: number; budgetUsd?: number; admin?: boolean } = {}): void {
  const key = createKeyCommand({ keysFile, name, ...(options.admin === true ? { scopes: ['admin'] } : {}), ...(options.tpm === undefined ? {} : { tokensPerMinute: options.tpm }), ...(options.rpm === undefined ? {} : { requestsPerMinute: options.rpm }), ...(options.budgetUsd === undefined ? {} : { budgetUsd: options.budgetUsd, budgetPeriod: 'day' }) }).trimEnd().split('\n').at(-1)!;
  const stored = JSON.parse(readFileSync(keysFile, 'utf8')).keys.find((record: { name: string }) => record.name === name);
  keys[name] = { key, id: stored.id };
}

function spent(keyId: string, costUsd: number): UsageRecord {
  return {
    startedAt: Date.now(), keyId, clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', modelRequested: 'openai/gpt-4o',
    status: 200, outcome: 'completed', promptTokens: 10, completionTokens: 10, tokensEstimated: false, costUsd, durationMs: 5,
  };
}

async function call(gateway: TestGateway, path: string, key: string | undefined, body?: unknown) {
  const response = await request(`${gateway.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text, json: () => JSON.parse(text) };
}

const chat = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe.skipIf(!available)('two gateways sharing one Redis', () => {
  beforeAll(async () => {
    fake = await startFakeOpenRouter();
    redis = await startRedis();
    directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-redis-'));
    // Each gateway has its own keys file, as on two machines; the second starts from a copy of the first's.
    const firstKeys = join(directory, 'first-keys.json');
    const secondKeys = join(directory, 'second-keys.json');
    createKey(firstKeys, 'limited', { rpm: 4 });
    createKey(firstKeys, 'budgeted', { budgetUsd: 1 });
    createKey(firstKeys, 'revoked');
    createKey(firstKeys, 'kept');
    createKey(firstKeys, 'token-limited', { tpm: 10 });
    createKey(firstKeys, 'admin', { admin: true });
    await import('node:fs').then(({ copyFileSync }) => copyFileSync(firstKeys, secondKeys));
    first = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: firstKeys, REDIS_URL: redis.url });
    second = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: secondKeys, REDIS_URL: redis.url });
    await until(async () => first.app.sharedStore?.readiness().state === 'ready' && second.app.sharedStore?.readiness().state === 'ready', 5_000);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await redis?.stop();
    await fake?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it("holds a key's requests per minute over both gateways: the total, not each one's", async () => {
    const statuses: number[] = [];
    for (const gateway of [first, second, first, second, first, second]) statuses.push((await call(gateway, '/api/chat', keys.limited!.key, chat)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    const refused = await call(second, '/v1/chat/completions', keys.limited!.key, { ...chat, stream: false });
    expect(refused.status).toBe(429);
    expect(refused.json().error.message).toMatch(/rate limit of 4 requests per minute reached; retry in \d+ s/);
  });

  it("holds a key's tokens per minute over both gateways: tokens spent through one are refused by the other", async () => {
    // One chat reports more than 10 tokens (the fake's usage): the window is full for both.
    expect((await call(first, '/api/chat', keys['token-limited']!.key, chat)).status).toBe(200);
    await until(async () => (await call(second, '/api/chat', keys['token-limited']!.key, chat)).status === 429, 2_000);
    const refused = await call(second, '/api/chat', keys['token-limited']!.key, chat);
    expect(refused.json().error).toMatch(/rate limit of 10 tokens per minute reached; retry in \d+ s/);
    expect(refused.status).toBe(429);
  });

  it("adds both gateways' spend to one budget", async () => {
    first.app.usageEvents.emit(spent(keys.budgeted!.id, 0.6));
    expect((await call(second, '/api/chat', keys.budgeted!.key, chat)).status).toBe(200);
    second.app.usageEvents.emit(spent(keys.budgeted!.id, 0.5));
    // 1.1 of 1 spent over the two: each refuses.
    await until(async () => (await call(first, '/api/chat', keys.budgeted!.key, chat)).status === 402, 2_000);
    const refused = await call(second, '/api/chat', keys.budgeted!.key, chat);
    expect(refused.status).toBe(402);
    expect(refused.json().error).toMatch(/has spent \$1\.10\d* of its daily budget of \$1\.00/);
  });

  it("applies a revocation made in one gateway's keys file on the other within a second, and writes it to the other's file", async () => {
    expect((await call(second, '/api/tags', keys.revoked!.key)).status).toBe(200);
    revokeKeyCommand(join(directory, 'first-keys.json'), 'revoked');
    // The first gateway notices its file (a poll every 500 ms), then the second hears it from Redis.
    const tookMs = await until(async () => (await call(second, '/api/tags', keys.revoked!.key)).status === 401, 3_000);
    expect(tookMs).toBeLessThan(1_000);
    expect((await call(second, '/api/tags', keys.kept!.key)).status).toBe(200);
    const secondFile = JSON.parse(readFileSync(join(directory, 'second-keys.json'), 'utf8'));
    expect(secondFile.keys.map((record: { name: string }) => record.name)).not.toContain('revoked');
    expect(JSON.stringify(secondFile)).not.toContain(keys.kept!.key);
  });

  it('shows on /api/ps a model used through the other gateway', async () => {
    expect((await call(first, '/api/chat', keys.kept!.key, { ...chat, model: 'anthropic/claude-sonnet-4.5' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ps = (await call(second, '/api/ps', keys.kept!.key)).json();
    expect(ps.models.map((model: { name: string }) => model.name), JSON.stringify(ps)).toContain('anthropic/claude-sonnet-4.5:latest');
  });

  it('keeps serving with Redis killed: per-instance limits, local spend, readiness and metrics say so; shared again once it is back', async () => {
    await redis.stop();
    await until(async () => first.app.sharedStore?.readiness().state === 'down' && second.app.sharedStore?.readiness().state === 'down', 5_000);
    const ready = await call(first, '/health/ready', undefined);
    expect(ready.status).toBe(200);
    expect(ready.json().redis).toEqual({ state: 'down' });
    // The limited key's shared window is out of reach: each gateway counts on its own, 4 each.
    createKey(join(directory, 'first-keys.json'), 'limited-later', { rpm: 4 });
    const laterKey = keys['limited-later']!;
    // Only the first gateway has this key (made while Redis was down): its own 4 per minute hold there.
    await until(async () => (await call(first, '/api/tags', laterKey.key)).status === 200, 3_000);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) statuses.push((await call(first, '/api/chat', laterKey.key, chat)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const metrics = await call(first, '/metrics', keys.admin!.key);
    expect(metrics.text).toMatch(/ollama_bridge_shared_store_up\{store="redis"\} 0/);
    expect(metrics.text).toMatch(/ollama_bridge_shared_store_fallbacks_total\{store="redis",kind="rate_limit"\} [1-9]/);

    await redis.start();
    await until(async () => first.app.sharedStore?.readiness().state === 'ready' && second.app.sharedStore?.readiness().state === 'ready', 10_000);
    // The key made while Redis was down reaches the second gateway on the reconnection.
    await until(async () => (await call(second, '/api/tags', laterKey.key)).status === 200, 3_000);
    // A fresh Redis: the shared window starts again, and holds over both.
    const shared: number[] = [];
    for (const gateway of [second, first, second, first, second]) shared.push((await call(gateway, '/api/chat', laterKey.key, chat)).status);
    expect(shared).toEqual([200, 200, 200, 200, 429]);
  });
});
