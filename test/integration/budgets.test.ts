/**
 * Spending budgets over real HTTP (issue 13, Budgets): a key whose spend in its period has
 * reached its budget gets 402 in the client's dialect, with when the budget resets, before
 * anything goes upstream, on every route that spends; a request running when the budget is
 * reached finishes; the default budget covers keys without their own; a new period starts
 * from nothing; spend recorded in the ledger is still counted after a restart.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let directory: string;
let keysFile: string;
const keys: Record<string, { key: string; id: string }> = {};

/** A Wednesday; the budget periods' clock, moved forward by the tests. */
let nowMs = Date.parse('2026-03-04T10:00:00Z');

function createKey(name: string, budget: { budgetUsd?: number; budgetPeriod?: string } = {}): void {
  const key = createKeyCommand({ keysFile, name, ...budget }).trimEnd().split('\n').at(-1)!;
  const stored = JSON.parse(readFileSync(keysFile, 'utf8')).keys.find((record: { name: string }) => record.name === name);
  keys[name] = { key, id: stored.id };
}

/** What the usage record of an answered request that cost `costUsd` says, for the key (none: the keyless gateway). */
function spent(keyId: string | undefined, costUsd: number, startedAt = nowMs): UsageRecord {
  return {
    startedAt, ...(keyId === undefined ? {} : { keyId }), clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', modelRequested: 'openai/gpt-4o',
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

/** Requests the fakes received that spend (chat, generate, embeddings), not catalog reads. */
function upstreamCalls(): number {
  return openRouter.requests.filter((record) => record.method === 'POST').length + ollama.requests.filter((record) => record.method === 'POST').length;
}

/** Every route that spends, on each backend, in both dialects. */
const SPENDING_ROUTES: Array<{ what: string; path: string; body: unknown }> = [
  { what: 'translated chat', path: '/api/chat', body: { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] } },
  { what: 'translated generate', path: '/api/generate', body: { model: 'openai/gpt-4o', prompt: 'hi' } },
  { what: 'Ollama passthrough chat', path: '/api/chat', body: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] } },
  { what: 'Ollama passthrough embed', path: '/api/embed', body: { model: 'all-minilm', input: 'hi' } },
  { what: 'embeddings on OpenRouter', path: '/api/embed', body: { model: 'openai/text-embedding-3-small', input: 'hi' } },
  { what: '/v1 relay', path: '/v1/chat/completions', body: { model: 'openai/gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] } },
  { what: '/v1 over Ollama', path: '/v1/chat/completions', body: { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] } },
  { what: '/v1 legacy completions', path: '/v1/completions', body: { model: 'openai/gpt-4o', prompt: 'hi' } },
  { what: '/v1 embeddings', path: '/v1/embeddings', body: { model: 'openai/text-embedding-3-small', input: 'hi' } },
];

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-budgets-'));
  keysFile = join(directory, 'keys.json');
  createKey('daily', { budgetUsd: 0.5, budgetPeriod: 'day' });
  createKey('defaulted');
  createKey('untouched', { budgetUsd: 0.5, budgetPeriod: 'day' });
  createKey('lifetime', { budgetUsd: 0.25, budgetPeriod: 'total' });
  createKey('in-flight', { budgetUsd: 0.5, budgetPeriod: 'month' });
  createKey('priced', { budgetUsd: 0.5, budgetPeriod: 'month' });
});
afterAll(async () => {
  await openRouter?.close();
  await ollama?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('budgets per key', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: keysFile, BUDGET_USD: 1, BUDGET_PERIOD: 'week' }, { now: () => nowMs });
  });
  afterAll(async () => gateway?.close());

  it('a spent budget is refused with 402 on every route that spends, in both dialects, with the reset time; nothing goes upstream', async () => {
    // Every route works while the budget holds.
    for (const route of SPENDING_ROUTES) expect((await call(gateway, route.path, keys.daily!.key, route.body)).status, route.what).toBe(200);
    gateway.app.usageEvents.emit(spent(keys.daily!.id, 0.5));
    // What the routes above cost (the fake's few micro-dollars each) counts too.
    const message = /^budget spent: this API key has spent \$0\.500\d* of its daily budget of \$0\.50; resets: 2026-03-05T00:00:00\.000Z$/;
    const before = upstreamCalls();
    for (const route of SPENDING_ROUTES) {
      const answer = await call(gateway, route.path, keys.daily!.key, route.body);
      expect(answer.status, route.what).toBe(402);
      if (route.path.startsWith('/v1/')) {
        expect(answer.json(), route.what).toEqual({ error: { message: expect.stringMatching(message), type: 'insufficient_quota', param: null, code: 'budget_exhausted' } });
      } else {
        expect(answer.json(), route.what).toEqual({ error: expect.stringMatching(message) });
      }
    }
    expect(upstreamCalls()).toBe(before);
    // Routes that cost nothing still answer.
    for (const path of ['/api/tags', '/v1/models', '/api/ps']) expect((await call(gateway, path, keys.daily!.key)).status, path).toBe(200);
    expect((await call(gateway, '/api/show', keys.daily!.key, { model: 'openai/gpt-4o' })).status).toBe(200);
    // Another key's budget is its own.
    expect((await call(gateway, '/api/chat', keys.untouched!.key, SPENDING_ROUTES[0]!.body)).status).toBe(200);
  });

  it('the default budget (--budget-usd, --budget-period) covers a key without its own', async () => {
    gateway.app.usageEvents.emit(spent(keys.defaulted!.id, 0.75));
    expect((await call(gateway, '/api/chat', keys.defaulted!.key, SPENDING_ROUTES[0]!.body)).status).toBe(200);
    gateway.app.usageEvents.emit(spent(keys.defaulted!.id, 0.25));
    const refused = await call(gateway, '/v1/chat/completions', keys.defaulted!.key, SPENDING_ROUTES[5]!.body);
    expect(refused.status).toBe(402);
    // The week starts on Monday.
    expect(refused.json().error.message).toMatch(/^budget spent: this API key has spent \$1\.00\d* of its weekly budget of \$1\.00; resets: 2026-03-09T00:00:00\.000Z$/);
  });

  it('a total budget never resets', async () => {
    gateway.app.usageEvents.emit(spent(keys.lifetime!.id, 0.3));
    const refused = await call(gateway, '/api/chat', keys.lifetime!.key, SPENDING_ROUTES[0]!.body);
    expect(refused.status).toBe(402);
    expect(refused.json().error).toBe('budget spent: this API key has spent $0.30 of its total budget of $0.25; resets: never');
  });

  it('a request running when the budget is reached finishes; the next one is refused', async () => {
    const slow = 'openai/gpt-4.1';
    let sse = sseChunk({ role: 'assistant', content: '' });
    for (let index = 0; index < 10; index++) sse += sseChunk({ role: 'assistant', content: `word${index} ` });
    sse += sseChunk({ role: 'assistant', content: '' }, 'stop') + sseChunk(null, null, { usage: { prompt_tokens: 5, completion_tokens: 10, total_tokens: 15, cost: 0.001 } });
    openRouter.script(slow, { sse: sse + SSE_DONE, delayMs: 30 });
    const running = call(gateway, '/api/chat', keys['in-flight']!.key, { model: slow, messages: [{ role: 'user', content: 'hi' }] });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Another of the key's requests brings it to its budget meanwhile.
    gateway.app.usageEvents.emit(spent(keys['in-flight']!.id, 0.5));
    expect((await call(gateway, '/api/chat', keys['in-flight']!.key, SPENDING_ROUTES[0]!.body)).status).toBe(402);
    const finished = await running;
    expect(finished.status).toBe(200);
    const lines = parseNdjson(finished.text);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
    expect(lines.map((line) => line.message?.content ?? '').join('')).toContain('word9');
  });

  it('counts the cost the upstream reports: the request that crosses the budget finishes, the next is refused', async () => {
    const pricey = 'anthropic/claude-sonnet-4.5';
    const sse = sseChunk({ role: 'assistant', content: 'costly answer' }) + sseChunk({ role: 'assistant', content: '' }, 'stop')
      + sseChunk(null, null, { usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, cost: 0.6 } });
    openRouter.script(pricey, { sse: sse + SSE_DONE });
    const first = await call(gateway, '/v1/chat/completions', keys.priced!.key, { model: pricey, messages: [{ role: 'user', content: 'hi' }] });
    expect(first.status).toBe(200);
    expect(first.json().choices[0].message.content).toBe('costly answer');
    const second = await call(gateway, '/api/chat', keys.priced!.key, { model: pricey, stream: false, messages: [{ role: 'user', content: 'hi' }] });
    expect(second.status).toBe(402);
    expect(second.json().error).toBe('budget spent: this API key has spent $0.60 of its monthly budget of $0.50; resets: 2026-04-01T00:00:00.000Z');
  });

  it('a new period starts from nothing', async () => {
    expect((await call(gateway, '/api/chat', keys.daily!.key, SPENDING_ROUTES[0]!.body)).status).toBe(402);
    nowMs = Date.parse('2026-03-04T23:59:59.999Z');
    expect((await call(gateway, '/api/chat', keys.daily!.key, SPENDING_ROUTES[0]!.body)).status).toBe(402);
    nowMs = Date.parse('2026-03-05T00:00:00.000Z');
    expect((await call(gateway, '/api/chat', keys.daily!.key, SPENDING_ROUTES[0]!.body)).status).toBe(200);
    // The weekly default is still spent until Monday; the total one for ever.
    expect((await call(gateway, '/api/chat', keys.defaulted!.key, SPENDING_ROUTES[0]!.body)).status).toBe(402);
    nowMs = Date.parse('2026-03-09T00:00:00.000Z');
    expect((await call(gateway, '/api/chat', keys.defaulted!.key, SPENDING_ROUTES[0]!.body)).status).toBe(200);
    expect((await call(gateway, '/api/chat', keys.lifetime!.key, SPENDING_ROUTES[0]!.body)).status).toBe(402);
  });
});

describe('a gateway without keys', () => {
  it('the default budget is one budget for every client', async () => {
    const gateway = await startGateway(openRouter.baseUrl, { BUDGET_USD: 0.5, BUDGET_PERIOD: 'day' }, { now: () => Date.parse('2026-03-04T10:00:00Z') });
    try {
      expect((await call(gateway, '/api/chat', undefined, SPENDING_ROUTES[0]!.body)).status).toBe(200);
      gateway.app.usageEvents.emit(spent(undefined, 0.5));
      const refused = await call(gateway, '/v1/embeddings', undefined, SPENDING_ROUTES.at(-1)!.body);
      expect(refused.status).toBe(402);
      expect(refused.json().error.message).toMatch(/^budget spent: this gateway has spent \$0\.50\d* of its daily budget of \$0\.50; resets: 2026-03-05T00:00:00\.000Z$/);
      expect((await call(gateway, '/api/tags', undefined)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});

describe('spend in the ledger', () => {
  it('is counted again after a restart', async () => {
    const usage = { OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: keysFile, USAGE: true, USAGE_DB: join(directory, 'usage.db') };
    const first = await startGateway(openRouter.baseUrl, usage);
    try {
      first.app.usageEvents.emit(spent(keys.untouched!.id, 0.3, Date.now()));
      first.app.usageEvents.emit(spent(keys.untouched!.id, 0.2, Date.now()));
    } finally {
      await first.close();
    }
    const second = await startGateway(openRouter.baseUrl, usage);
    try {
      const refused = await call(second, '/api/chat', keys.untouched!.key, SPENDING_ROUTES[0]!.body);
      expect(refused.status).toBe(402);
      expect(refused.json().error).toMatch(/^budget spent: this API key has spent \$0\.50 of its daily budget of \$0\.50; resets: \d{4}-\d\d-\d\dT00:00:00\.000Z$/);
      expect((await call(second, '/api/chat', keys.daily!.key, SPENDING_ROUTES[0]!.body)).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
