/**
 * A client that goes away must cancel the upstream request (OpenRouter stops billing only
 * then): the fake records `aborted: true` for that request within 2 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama } from 'ollama';
import { OllamaChatResponse } from '../../schemas/ollama.js';
import { DEFAULT_MODELS, SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter, type RecordedRequest } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { ndjsonLines, settlesWithin, waitFor } from '../helpers/ollama-checks.js';

const SLOW = 'slow/model';

let fake: FakeOpenRouter;
let gateway: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, { id: SLOW, context_length: 8192, created: 1700000000 }] });
  gateway = await startGateway(fake.baseUrl);
  // 20 content chunks, 150 ms apart: about 3 s if nobody hangs up.
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 20; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  sse += sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE;
  fake.script(SLOW, { sse, delayMs: 150 });
});
afterAll(async () => {
  // Node's fetch (ollama-js) may hold a connection it never sent a request on after abort();
  // app.close() would wait for it.
  gateway?.app.server.closeAllConnections();
  await gateway?.close();
  await fake?.close();
});

const body = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: SLOW, messages: [{ role: 'user', content: 'count slowly' }], ...extra });

/** The upstream request the next gateway call makes, once the fake has received it. */
async function nextUpstream(before: number): Promise<RecordedRequest> {
  await waitFor(() => fake.chatRequests().length > before, 2000, 'the upstream request');
  return fake.chatRequests()[before]!;
}

async function expectUpstreamAborted(upstream: RecordedRequest): Promise<void> {
  expect(await settlesWithin(upstream.settled, 2000), 'the upstream request ended within 2 s').toBe(true);
  expect(upstream.aborted).toBe(true);
}

describe('client aborts reach the upstream', () => {
  it('a streaming client that aborts after the first line', async () => {
    const before = fake.chatRequests().length;
    const controller = new AbortController();
    const response = await request(`${gateway.url}/api/chat`, { method: 'POST', body: body(), signal: controller.signal });
    expect(response.statusCode).toBe(200);
    const lines = ndjsonLines(response.body);
    const first = await lines.next();
    expect(first.done).toBe(false);
    OllamaChatResponse.parse(first.value);
    expect(first.value.message.content).toBe('w0 ');
    const upstream = fake.chatRequests()[before]!;
    expect(upstream.aborted).toBe(false);
    controller.abort();
    await lines.return(undefined).catch(() => undefined);
    await expectUpstreamAborted(upstream);
  });

  it('a client that destroys its socket mid-stream (no abort signal)', async () => {
    const before = fake.chatRequests().length;
    const response = await request(`${gateway.url}/api/chat`, { method: 'POST', body: body() });
    const iterator = response.body[Symbol.asyncIterator]();
    await iterator.next();
    response.body.destroy();
    const upstream = await nextUpstream(before);
    await expectUpstreamAborted(upstream);
  });

  it('a stream:false client that hangs up while the gateway is collecting', async () => {
    const before = fake.chatRequests().length;
    const controller = new AbortController();
    const pending = request(`${gateway.url}/api/chat`, { method: 'POST', body: body({ stream: false }), signal: controller.signal });
    const upstream = await nextUpstream(before);
    // Let a few chunks flow so the gateway is mid-collection.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(upstream.aborted).toBe(false);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expectUpstreamAborted(upstream);
  });

  it('a streaming client that hangs up before the first token', async () => {
    const before = fake.chatRequests().length;
    const controller = new AbortController();
    const pending = request(`${gateway.url}/api/chat`, { method: 'POST', body: body(), signal: controller.signal });
    const upstream = await nextUpstream(before);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expectUpstreamAborted(upstream);
  });

  it('ollama-js client.abort() mid-stream', async () => {
    const client = new Ollama({ host: gateway.url });
    const before = fake.chatRequests().length;
    const stream = await client.chat({ model: SLOW, messages: [{ role: 'user', content: 'count slowly' }], stream: true });
    const received: string[] = [];
    const consume = (async () => {
      for await (const part of stream) {
        received.push(part.message.content);
        if (received.length === 1) client.abort();
      }
    })();
    await expect(consume).rejects.toThrow(/abort/i);
    expect(received[0]).toBe('w0 ');
    await expectUpstreamAborted(await nextUpstream(before));
  });

  it('the gateway keeps serving after aborted requests', async () => {
    const response = await request(`${gateway.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'still there?' }], stream: false }),
    });
    expect(response.statusCode).toBe(200);
    expect(OllamaChatResponse.parse(await response.body.json()).message.content).toBe('Echo from openai/gpt-4o: still there?');
  });
});
