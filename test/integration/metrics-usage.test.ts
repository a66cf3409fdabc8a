/**
 * What the usage records add to /metrics, over real HTTP: tokens and cost from the fake
 * OpenRouter's reported usage, labelled by model and key name; time to first token and
 * duration; upstream errors by backend and status, before the first byte and in-band after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { SSE_COMMENT, sseChunk, startFakeOpenRouter, textStream, type FakeModel, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape, scrapeUntil, type Scrape } from '../helpers/metrics.js';

const FAILING = 'failing/model';
const BROKEN = 'broken/model';
const MODELS: FakeModel[] = [
  { id: 'openai/gpt-4o', context_length: 128000 },
  { id: 'openai/gpt-4.1', context_length: 128000 },
  { id: FAILING, context_length: 8192 },
  { id: BROKEN, context_length: 8192 },
];

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;
let aliceKey: string;
let admin: Record<string, string>;
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: MODELS });
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-metrics-usage-'));
  const keysFile = join(directory, 'keys.json');
  aliceKey = lastLine(createKeyCommand({ keysFile, name: 'alice' }));
  admin = { authorization: `Bearer ${lastLine(createKeyCommand({ keysFile, name: 'prometheus', scopes: ['admin'] }))}` };
  gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${aliceKey}` }, body: JSON.stringify(body) });
  return { status: response.statusCode, text: await response.body.text() };
}

const read = (): Promise<Scrape> => scrape(gateway.url, admin);
const readUntil = (condition: (scraped: Scrape) => boolean, what: string): Promise<Scrape> => scrapeUntil(gateway.url, condition, what, admin);
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string>): number => after.value(name, labels) - before.value(name, labels);
const countDelta = (before: Scrape, after: Scrape, name: string): number => after.histogramCount(name) - before.histogramCount(name);

describe('/metrics from the usage records', () => {
  it("counts tokens and cost from the upstream's usage under the model and the key's name, and observes time to first token and duration", async () => {
    fake.script('openai/gpt-4.1', { sse: textStream(['Hel', 'lo'], 'stop', [12, 30]) });
    const model = 'openai/gpt-4.1:latest';
    const before = await read();
    const answer = await post('/api/chat', { model: 'openai/gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(200);
    const after = await readUntil((scraped) => delta(before, scraped, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'prompt' }) > 0, 'the tokens');
    expect(delta(before, after, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'prompt' })).toBe(12);
    expect(delta(before, after, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'completion' })).toBe(30);
    // The fake reports a cost of 1e-6 USD per token.
    expect(delta(before, after, 'ollama_bridge_cost_usd_total', { model, key: 'alice' })).toBeCloseTo(42e-6, 12);
    expect(countDelta(before, after, 'ollama_bridge_time_to_first_token_seconds')).toBe(1);
    expect(countDelta(before, after, 'ollama_bridge_request_duration_seconds')).toBe(1);
    expect(delta(before, after, 'ollama_bridge_requests_total', { route: '/api/chat', status: '200', model })).toBe(1);
    // Only key names: no key id, no key.
    const keys = new Set(after.samples('ollama_bridge_tokens_total').map((sample) => sample.labels?.key));
    expect([...keys]).toEqual(['alice']);
    expect(after.text).not.toContain(aliceKey);
  });

  it('counts the /v1 relay the same way, under the catalog name of a short model name', async () => {
    fake.script('openai/gpt-4o', { sse: textStream(['a', 'b', 'c'], 'stop', [7, 3]) });
    const model = 'openai/gpt-4o:latest';
    const before = await read();
    const answer = await post('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(200);
    const after = await readUntil((scraped) => delta(before, scraped, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'completion' }) > 0, 'the relayed tokens');
    expect(delta(before, after, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'prompt' })).toBe(7);
    expect(delta(before, after, 'ollama_bridge_tokens_total', { model, key: 'alice', type: 'completion' })).toBe(3);
    expect(delta(before, after, 'ollama_bridge_cost_usd_total', { model, key: 'alice' })).toBeCloseTo(10e-6, 12);
  });

  it('counts an upstream error status under its backend and status', async () => {
    fake.script(FAILING, { status: 500 });
    const before = await read();
    const answer = await post('/api/chat', { model: FAILING, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(500);
    const after = await readUntil((scraped) => delta(before, scraped, 'ollama_bridge_upstream_errors_total', { backend: 'openrouter', status: '500' }) === 1, 'the upstream error');
    expect(delta(before, after, 'ollama_bridge_requests_total', { route: '/api/chat', status: '500', model: `${FAILING}:latest` })).toBe(1);
  });

  it('counts an in-band upstream error after the first byte under the status its error stands for', async () => {
    // A first token, then OpenRouter's mid-stream error event.
    const sse = SSE_COMMENT + sseChunk({ role: 'assistant', content: 'Hel' })
      + `data: ${JSON.stringify({ id: 'gen-x', object: 'chat.completion.chunk', created: 1, model: BROKEN, error: { code: 502, message: 'provider went away' }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] })}\n\n`;
    fake.script(BROKEN, { sse });
    const before = await read();
    const answer = await post('/api/chat', { model: BROKEN, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('"error"');
    const after = await readUntil((scraped) => delta(before, scraped, 'ollama_bridge_upstream_errors_total', { backend: 'openrouter', status: '502' }) === 1, 'the in-band error');
    expect(delta(before, after, 'ollama_bridge_requests_total', { route: '/api/chat', status: '200', model: `${BROKEN}:latest` })).toBe(1);
  });

  it('does not count the gateway’s own refusals as upstream errors', async () => {
    const before = await read();
    expect((await post('/api/chat', { model: 'nobody/never-listed', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404);
    const after = await readUntil((scraped) => delta(before, scraped, 'ollama_bridge_requests_total', { route: '/api/chat', status: '404', model: 'other' }) === 1, 'the refusal');
    const errors = (scraped: Scrape): number => scraped.samples('ollama_bridge_upstream_errors_total').reduce((sum, sample) => sum + Number(sample.value), 0);
    expect(errors(after)).toBe(errors(before));
  });

  it('records no usage for /metrics and the health probes (unmetered)', async () => {
    const records: UsageRecord[] = [];
    const unsubscribe = gateway.app.usageEvents.subscribe((record) => records.push(record));
    try {
      await read();
      for (const path of ['/health/live', '/health/ready']) expect((await request(`${gateway.url}${path}`)).statusCode).toBe(200);
      // A recorded request after them: once its record is in, theirs would have been too.
      expect((await post('/api/chat', { model: 'nobody/never-listed', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404);
      await readUntil(() => records.length > 0, 'the chat record');
      expect(records.map((record) => record.route)).toEqual(['/api/chat']);
    } finally {
      unsubscribe();
    }
  });
});
