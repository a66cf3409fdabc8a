/**
 * Tokens count against a key's tokens-per-minute limit on every path that spends: the native
 * Ollama passthrough (Ollama's own counts), and answers cut off by the client before the
 * upstream reported usage (estimated from the prompt and what was relayed), on the translated
 * path and the /v1 relay alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { sseChunk, startFakeOpenRouter, SSE_DONE, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

const SLOW_MODEL = 'openai/gpt-4o';
let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 40; index++) sse += sseChunk({ role: 'assistant', content: `word${index} ` });
  sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 5, completion_tokens: 40, total_tokens: 45 } });
  openRouter.script(SLOW_MODEL, { sse: sse + SSE_DONE, delayMs: 100 });
});
afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await openRouter?.close();
  await ollama?.close();
});

async function gatewayWith(overrides: Record<string, unknown>): Promise<TestGateway> {
  const gateway = await startGateway(openRouter.baseUrl, { BRIDGE_API_KEYS: 'usage-key', ...overrides });
  gateways.push(gateway);
  return gateway;
}

const headers = { authorization: 'Bearer usage-key', 'content-type': 'application/json' };

async function post(gateway: TestGateway, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.statusCode, text: await response.body.text() };
}

/** Reads the first piece of a streamed answer, then hangs up; resolves once the upstream saw the hang-up. */
async function hangUpAfterFirstPiece(gateway: TestGateway, path: string, body: unknown): Promise<void> {
  const before = openRouter.requests.length;
  const controller = new AbortController();
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: controller.signal });
  expect(response.statusCode).toBe(200);
  for await (const _chunk of response.body) break;
  controller.abort();
  const upstream = openRouter.requests[before]!;
  await upstream.settled;
  expect(upstream.aborted).toBe(true);
}

describe('tokens per minute on every path', () => {
  it('the native Ollama passthrough counts the prompt_eval_count and eval_count Ollama reported, streamed and not', async () => {
    const probe = await gatewayWith({ OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
    const chat = { model: 'llama3.2', messages: [{ role: 'user', content: 'one two three four' }] };
    const final = parseNdjson((await post(probe, '/api/chat', chat)).text).at(-1);
    const spent = final.prompt_eval_count + final.eval_count;
    expect(spent).toBeGreaterThan(1);

    for (const stream of [true, false]) {
      // A limit of exactly what one answer spends: the second request is refused.
      const exact = await gatewayWith({ OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, RATE_LIMIT_TPM: spent });
      expect((await post(exact, '/api/chat', { ...chat, stream })).status).toBe(200);
      expect((await post(exact, '/api/chat', { ...chat, stream })).status, `stream ${stream}`).toBe(429);
      // One token more: the counts were Ollama's, not an estimate.
      const roomier = await gatewayWith({ OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, RATE_LIMIT_TPM: spent + 1 });
      expect((await post(roomier, '/api/chat', { ...chat, stream })).status).toBe(200);
      expect((await post(roomier, '/api/chat', { ...chat, stream })).status, `stream ${stream}`).toBe(200);
    }
  });

  it('an Ollama answer cut off by the client counts the prompt and what was relayed (translated path)', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_TPM: 50 });
    const body = { model: SLOW_MODEL, messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    await hangUpAfterFirstPiece(gateway, '/api/chat', body);
    const next = await post(gateway, '/api/chat', body);
    expect(next.status).toBe(429);
    expect(JSON.parse(next.text).error).toContain('50 tokens per minute');
  });

  it('a /v1 stream relayed from OpenRouter and cut off by the client counts too', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_TPM: 50 });
    const body = { model: SLOW_MODEL, stream: true, messages: [{ role: 'user', content: 'y'.repeat(400) }] };
    await hangUpAfterFirstPiece(gateway, '/v1/chat/completions', body);
    const next = await post(gateway, '/v1/chat/completions', body);
    expect(next.status).toBe(429);
    expect(JSON.parse(next.text).error.type).toBe('rate_limit_error');
  });

  it('a /v1 answer through the translating path (legacy completions) cut off by the client counts too', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_TPM: 50 });
    const body = { model: SLOW_MODEL, stream: true, prompt: 'z'.repeat(400) };
    await hangUpAfterFirstPiece(gateway, '/v1/completions', body);
    expect((await post(gateway, '/v1/completions', body)).status).toBe(429);
  });

  it('a request the upstream refused spends nothing', async () => {
    const gateway = await gatewayWith({ RATE_LIMIT_TPM: 50 });
    openRouter.script('openai/gpt-4.1', { status: 400, body: { error: { message: 'bad request', code: 400 } } });
    const body = { model: 'openai/gpt-4.1', messages: [{ role: 'user', content: 'w'.repeat(400) }] };
    expect((await post(gateway, '/api/chat', body)).status).toBe(400);
    expect((await post(gateway, '/api/chat', body)).status).toBe(400);
  });
});
