/**
 * Hang-ups at scale: closing a client's upstream request opens no new upstream connection
 * (undici's own abort would: nodejs/undici#5845), touches no other stream, and when 500
 * clients leave at once every upstream request is seen closed. Timing is measured in the
 * bench (`--only abort`), not here: the bound below is generous.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startFakeOllama, chatLine, type FakeOllama } from '../fakes/fake-ollama.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/ollama-checks.js';

const SLOW = 'slow/long';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;

beforeAll(async () => {
  [openRouter, ollama] = await Promise.all([startFakeOpenRouter({ models: [...DEFAULT_MODELS, { id: SLOW, context_length: 8192, created: 1700000000 }] }), startFakeOllama()]);
  gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl, PREFER_BACKEND: 'openrouter' });
  // 200 chunks 50 ms apart: ten seconds, far longer than any test here waits.
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 200; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  openRouter.script(SLOW, { sse: sse + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE, delayMs: 50 });
  let ndjson = '';
  for (let index = 0; index < 200; index++) ndjson += chatLine('qwen3:8b', { content: `w${index} ` });
  ollama.script('qwen3:8b', { ndjson: ndjson + chatLine('qwen3:8b', {}, { done: true, done_reason: 'stop' }), delayMs: 50 });
});
afterAll(async () => {
  await gateway?.close();
  await Promise.all([openRouter?.close(), ollama?.close()]);
});

interface OpenStream {
  request: ClientRequest;
  /** Resolves at the first bytes of the answer. */
  flowing: Promise<void>;
  bytes: () => number;
}

/** A streamed request on a connection of its own; `request.destroy()` hangs up. */
function open(path: string, body: unknown): OpenStream {
  const payload = JSON.stringify(body);
  const outgoing = httpRequest(`${gateway.url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
  let received = 0;
  const flowing = new Promise<void>((resolve, reject) => {
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      response.on('error', () => undefined);
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        resolve();
      });
    });
  });
  outgoing.end(payload);
  return { request: outgoing, flowing, bytes: () => received };
}

const user = (content: string) => [{ role: 'user', content }];

describe('a client hanging up', () => {
  for (const [name, path, model] of [
    ['/api/chat over OpenRouter', '/api/chat', SLOW],
    ['/v1/chat/completions relayed from OpenRouter', '/v1/chat/completions', SLOW],
    ['/v1/chat/completions over an upstream Ollama', '/v1/chat/completions', 'qwen3:8b'],
  ] as const) {
    it(`${name}: closes its upstream request only, and opens no new upstream connection`, async () => {
      const upstream = model === SLOW
        ? { connections: () => openRouter.connectionCount(), requests: () => openRouter.chatRequests() }
        : { connections: () => ollama.connectionCount(), requests: () => ollama.requestsTo('/api/chat') };
      const before = upstream.requests().length;
      const leaving = open(path, { model, stream: true, messages: user('leaving') });
      const staying = open(path, { model, stream: true, messages: user('staying') });
      await Promise.all([leaving.flowing, staying.flowing]);
      const [leavingUpstream, stayingUpstream] = upstream.requests().slice(before).sort((left) => (JSON.stringify(left.body).includes('leaving') ? -1 : 1));
      const connectionsBefore = upstream.connections();
      leaving.request.destroy();
      await waitFor(() => leavingUpstream!.aborted, 2_000, 'the upstream request of the client that left');
      // Time for a reconnect, had there been one.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(upstream.connections()).toBe(connectionsBefore);
      expect(stayingUpstream!.aborted).toBe(false);
      const bytes = staying.bytes();
      await waitFor(() => staying.bytes() > bytes, 2_000, 'more of the other answer');
      staying.request.destroy();
      await waitFor(() => stayingUpstream!.aborted, 2_000, 'the other upstream request');
    });
  }
});

describe('500 clients hanging up at once', () => {
  it('every upstream request is seen closed', async () => {
    const before = openRouter.chatRequests().length;
    const streams: OpenStream[] = [];
    for (let index = 0; index < 500; index++) {
      streams.push(open(index % 2 === 0 ? '/api/chat' : '/v1/chat/completions', { model: SLOW, stream: true, messages: user(`client ${index}`) }));
      if (index % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(streams.map((stream) => stream.flowing));
    const upstreams = openRouter.chatRequests().slice(before);
    expect(upstreams).toHaveLength(500);
    const connectionsBefore = openRouter.connectionCount();
    for (const stream of streams) stream.request.destroy();
    await waitFor(() => upstreams.every((upstream) => upstream.aborted), 10_000, 'every upstream request closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(openRouter.connectionCount()).toBe(connectionsBefore);
  }, 30_000);
});
