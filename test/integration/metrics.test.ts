/**
 * GET /metrics over real HTTP, read with a Prometheus text-format parser and checked against
 * the requests made: counts by route, status and model; open streams; catalog sizes; bounded
 * model labels (what the usage records add: metrics-usage.test.ts).
 * Each check compares two scrapes, so the tests do not depend on each other's requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { DEFAULT_MODELS as OLLAMA_MODELS, startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { SSE_DONE, sseChunk, startFakeOpenRouter, type FakeModel, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape, scrapeUntil as scrapeUntilSeen, type Scrape } from '../helpers/metrics.js';
import { ndjsonLines } from '../helpers/ollama-checks.js';

const SLOW = 'slow/model';
const OPENROUTER_MODELS: FakeModel[] = [
  { id: 'openai/gpt-4o', context_length: 128000 },
  { id: 'openai/gpt-4.1', context_length: 128000 },
  { id: 'openai/text-embedding-3-small', context_length: 8192, embedding: true },
  { id: SLOW, context_length: 8192 },
];

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;

beforeAll(async () => {
  openRouter = await startFakeOpenRouter({ models: OPENROUTER_MODELS });
  ollama = await startFakeOllama();
  gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await gateway?.close();
  await openRouter?.close();
  await ollama?.close();
});

const REQUESTS = 'ollama_bridge_requests_total';

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.statusCode, text: await response.body.text() };
}

/** The change of a series between two scrapes. */
function delta(before: Scrape, after: Scrape, name: string, labels: Record<string, string>): number {
  return after.value(name, labels) - before.value(name, labels);
}

/** Scrapes until `condition` holds. */
function scrapeUntil(condition: (scraped: Scrape) => boolean, what: string): Promise<Scrape> {
  return scrapeUntilSeen(gateway.url, condition, what);
}

describe('GET /metrics', () => {
  it('is Prometheus text with the gateway metrics and the process metrics', async () => {
    const scraped = await scrape(gateway.url);
    for (const name of [
      REQUESTS, 'ollama_bridge_tokens_total', 'ollama_bridge_cost_usd_total', 'ollama_bridge_active_streams',
      'ollama_bridge_time_to_first_token_seconds', 'ollama_bridge_request_duration_seconds',
      'ollama_bridge_upstream_errors_total', 'ollama_bridge_catalog_models',
    ]) {
      expect(scraped.family(name), name).toBeDefined();
    }
    expect(scraped.family('ollama_bridge_time_to_first_token_seconds')?.type).toBe('HISTOGRAM');
    expect(scraped.family('ollama_bridge_request_duration_seconds')?.type).toBe('HISTOGRAM');
    // Default process metrics, unprefixed, as Prometheus users expect them.
    expect(scraped.family('process_cpu_user_seconds_total')).toBeDefined();
    expect(scraped.family('nodejs_heap_size_used_bytes')).toBeDefined();
  });

  it('counts requests by route pattern, status and the catalog name of the model', async () => {
    const before = await scrape(gateway.url);
    expect((await request(`${gateway.url}/api/version`)).statusCode).toBe(200);
    expect((await request(`${gateway.url}/api/tags`)).statusCode).toBe(200);
    expect((await post('/api/chat', { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    // A short name, on the OpenAI door: the same catalog name.
    expect((await post('/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect((await post('/api/chat', { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    expect((await request(`${gateway.url}/no/such/route`)).statusCode).toBe(404);
    const after = await scrapeUntil((scraped) => delta(before, scraped, REQUESTS, { route: '/api/chat', status: '200', model: 'llama3.2:latest' }) === 1, 'the last chat');
    expect(delta(before, after, REQUESTS, { route: '/api/version', status: '200', model: '' })).toBe(1);
    expect(delta(before, after, REQUESTS, { route: '/api/tags', status: '200', model: '' })).toBe(1);
    expect(delta(before, after, REQUESTS, { route: '/api/chat', status: '200', model: 'openai/gpt-4o:latest' })).toBe(1);
    expect(delta(before, after, REQUESTS, { route: '/v1/chat/completions', status: '200', model: 'openai/gpt-4o:latest' })).toBe(1);
    expect(delta(before, after, REQUESTS, { route: 'unmatched', status: '404', model: '' })).toBe(1);
    // Route labels are patterns, never raw URLs.
    expect(after.samples(REQUESTS).some((sample) => sample.labels?.route === '/no/such/route')).toBe(false);
  });

  it('collapses models the catalog does not list into one label value', async () => {
    const before = await scrape(gateway.url);
    for (const model of ['nobody/never-listed', 'made-up-model:7b', 'gpt-4o-but-not']) {
      expect((await post('/api/chat', { model, stream: false, messages: [{ role: 'user', content: 'hi' }] })).status).toBe(404);
    }
    const after = await scrapeUntil((scraped) => delta(before, scraped, REQUESTS, { route: '/api/chat', status: '404', model: 'other' }) === 3, 'three unknown models');
    const models = new Set(after.samples(REQUESTS).map((sample) => sample.labels?.model));
    for (const model of ['nobody/never-listed', 'made-up-model:7b', 'gpt-4o-but-not']) expect(models.has(model), model).toBe(false);
  });

  it('shows a slow stream as active while it is open, and 0 once it has ended', async () => {
    let sse = sseChunk({ role: 'assistant', content: '' });
    for (let index = 0; index < 10; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
    sse += sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE;
    openRouter.script(SLOW, { sse, delayMs: 100 });
    expect((await scrape(gateway.url)).value('ollama_bridge_active_streams')).toBe(0);
    const response = await request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: SLOW, messages: [{ role: 'user', content: 'slowly' }] }) });
    expect(response.statusCode).toBe(200);
    const lines = ndjsonLines(response.body);
    expect((await lines.next()).done).toBe(false);
    expect((await scrape(gateway.url)).value('ollama_bridge_active_streams')).toBe(1);
    for await (const _line of lines) {
      // read to the end
    }
    await scrapeUntil((scraped) => scraped.value('ollama_bridge_active_streams') === 0, 'no active stream');
  });

  it("gives each backend's catalog size", async () => {
    const scraped = await scrape(gateway.url);
    expect(scraped.value('ollama_bridge_catalog_models', { backend: 'openrouter' })).toBe(OPENROUTER_MODELS.length);
    expect(scraped.value('ollama_bridge_catalog_models', { backend: 'ollama' })).toBe(OLLAMA_MODELS.length);
  });

  it('counts requests refused before their route answers, and a client that left before any status as 499', async () => {
    const before = await scrape(gateway.url);
    // Refused by the access-control hook, before the route's handler.
    expect((await request(`${gateway.url}/api/tags`, { headers: { origin: 'https://evil.example' } })).statusCode).toBe(403);
    expect((await request(`${gateway.url}/api/tags`, { method: 'DELETE' })).statusCode).toBe(405);
    // A non-streamed answer is sent whole: the client leaves while the gateway gathers it.
    openRouter.script(SLOW, { sse: sseChunk({ role: 'assistant', content: 'late' }, 'stop') + SSE_DONE, delayMs: 1_000 });
    const leaving = new AbortController();
    const answer = request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: SLOW, stream: false, messages: [{ role: 'user', content: 'hi' }] }), signal: leaving.signal });
    setTimeout(() => leaving.abort(), 200);
    await expect(answer).rejects.toThrow();
    const after = await scrapeUntil((scraped) => delta(before, scraped, REQUESTS, { route: '/api/chat', status: '499', model: `${SLOW}:latest` }) === 1, 'the client that left');
    expect(delta(before, after, REQUESTS, { route: '/api/tags', status: '403', model: '' })).toBe(1);
    expect(delta(before, after, REQUESTS, { route: 'unmatched', status: '405', model: '' })).toBe(1);
  });

  it('counts itself and the health probes, unmetered', async () => {
    const before = await scrape(gateway.url);
    expect((await request(`${gateway.url}/health/live`)).statusCode).toBe(200);
    const after = await scrapeUntil((scraped) => delta(before, scraped, REQUESTS, { route: '/health/live', status: '200', model: '' }) === 1, 'the probe');
    expect(delta(before, after, REQUESTS, { route: '/metrics', status: '200', model: '' })).toBeGreaterThanOrEqual(1);
  });
});
