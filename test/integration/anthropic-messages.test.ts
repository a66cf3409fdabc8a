/**
 * /v1/messages over real HTTP, as bytes: the `event:`/`data:` frames in Anthropic's order
 * whatever the upstream's network cuts, errors before and after the first byte, and every
 * refusal of the routes (bad JSON, wrong method, unknown route, the shared hooks' 401)
 * in Anthropic's envelope, never OpenAI's; CORS lets the SDK's headers through.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, startFakeOpenRouter, type FakeOpenRouter, type WriteMode } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { sendRaw } from '../helpers/raw-http.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let keyed: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  gateway = await startGateway(fake.baseUrl);
  keyed = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'messages-key' });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), keyed?.close()]);
  await fake?.close();
});

async function post(path: string, body: unknown, options: { url?: string; headers?: Record<string, string>; raw?: string } = {}) {
  const response = await request(`${options.url ?? gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...options.headers },
    body: options.raw ?? JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** The frames of an Anthropic stream: each `event: <name>` line names its data's `type`. */
function frames(text: string): Array<{ event: string; data: any }> {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((frame) => {
    const match = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const data = JSON.parse(match![2]!);
    expect(data.type).toBe(match![1]);
    return { event: match![1]!, data };
  });
}

/**
 * Consecutive deltas of one kind in one block as one (how many there are depends on how the upstream's
 * bytes were cut into reads; what they add up to does not).
 */
function merged(events: Array<{ event: string; data: any }>): Array<{ event: string; data: any }> {
  const result: Array<{ event: string; data: any }> = [];
  for (const frame of events) {
    const last = result.at(-1);
    if (frame.event === 'content_block_delta' && last?.event === 'content_block_delta' && last.data.index === frame.data.index && last.data.delta.type === frame.data.delta.type) {
      const delta = { ...last.data.delta };
      for (const field of ['text', 'thinking', 'partial_json']) if (field in delta) delta[field] += frame.data.delta[field];
      result[result.length - 1] = { event: last.event, data: { ...last.data, delta } };
    } else {
      result.push(frame);
    }
  }
  return result;
}

const ANTHROPIC_ERROR = { type: 'error', error: { type: expect.any(String), message: expect.any(String) } };

describe('POST /v1/messages streamed', () => {
  const writeModes: Array<[string, WriteMode]> = [
    ['one event per write', 'event'],
    ['one byte per write', 'bytes'],
    ['all glued in one write', 'glued'],
    ['random cuts, seed 7', { randomSeed: 7, maxPiece: 9 }],
  ];
  for (const [label, writeMode] of writeModes) {
    it(`gives the same frames in Anthropic's order for a recorded stream cut ${label}`, async () => {
      fake.script('fixture/reasoning', { sse: loadFixture('reasoning'), writeMode });
      const response = await post('/v1/messages', { model: 'fixture/reasoning', max_tokens: 100, stream: true, messages: [{ role: 'user', content: '2+2?' }] });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/event-stream');
      const events = merged(frames(response.text));
      expect(events.map((frame) => frame.event)).toEqual([
        'message_start', 'ping',
        'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
        'content_block_start', 'content_block_delta', 'content_block_stop',
        'message_delta', 'message_stop',
      ]);
      expect(events[0]!.data.message).toMatchObject({ type: 'message', role: 'assistant', model: 'fixture/reasoning', content: [], stop_reason: null });
      expect(events[3]!.data.delta).toEqual({ type: 'thinking_delta', thinking: 'Two plus two is four.' });
      // The thinking block ends with the signature OpenRouter sent in reasoning_details.
      expect(events[4]!.data.delta).toEqual({ type: 'signature_delta', signature: 'EqQBCkYIBxgCKkBf' });
      expect(events[7]!.data.delta).toEqual({ type: 'text_delta', text: '4' });
      expect(events[9]!.data).toEqual({
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: 14, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      });
    });
  }

  it('after the first byte, an upstream error is one error event and no message_stop', async () => {
    const response = await post('/v1/messages', { model: 'fixture/error-mid-stream', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(200);
    const events = frames(response.text);
    expect(events.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'Provider disconnected unexpectedly' } } });
    expect(events.some((frame) => frame.event === 'message_stop')).toBe(false);
  });

  it('a stream the upstream cuts off without finishing ends with an error event', async () => {
    const response = await post('/v1/messages', { model: 'fixture/truncated', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const events = frames(response.text);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'api_error' } } });
  });

  it('before the first byte, an upstream error gets its status in the envelope', async () => {
    const response = await post('/v1/messages', { model: 'fixture/error-legacy', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(response.status).toBe(429);
    expect(JSON.parse(response.text)).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit exceeded: free-models-per-day' } });
  });
});

describe("every refusal on /v1/messages is in Anthropic's envelope", () => {
  it('invalid JSON, a wrong type, no body → 400 invalid_request_error', async () => {
    for (const raw of ['{"model":', '{"model": "gpt-4o", "max_tokens": "many", "messages": []}', '']) {
      const response = await post('/v1/messages', undefined, { raw });
      expect(response.status, raw).toBe(400);
      expect(JSON.parse(response.text)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
    }
  });

  it('Claude Code\'s ?beta=true query is the same route', async () => {
    const body = { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    const answer = await post('/v1/messages?beta=true', body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'message' });
    const count = await post('/v1/messages/count_tokens?beta=true', body);
    expect(count.status).toBe(200);
    expect(JSON.parse(count.text)).toEqual({ input_tokens: expect.any(Number) });
  });

  it('unknown fields and block types are not a 400', async () => {
    const response = await post('/v1/messages', {
      model: 'gpt-4o', max_tokens: 10, service_tier: 'auto', container: null, context_management: { edits: [] },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'search_result', source: 'x', title: 't', content: [] }] }],
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'Echo from openai/gpt-4o: hi' }] });
  });

  it('GET /v1/messages → 405, an unknown /v1/messages route → 404', async () => {
    const get = await request(`${gateway.url}/v1/messages`);
    expect(get.statusCode).toBe(405);
    expect(await get.body.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'GET is not allowed on /v1/messages' } });
    const unknown = await post('/v1/messages/batches', {});
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('/v1/messages/batches') } });
  });

  it('the shared key hook: no key or a wrong one → 401 authentication_error; x-api-key is a client key', async () => {
    const body = { model: 'gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] };
    for (const headers of [{}, { 'x-api-key': 'wrong' }] as Array<Record<string, string>>) {
      const response = await post('/v1/messages', body, { url: keyed.url, headers });
      expect(response.status).toBe(401);
      expect(JSON.parse(response.text)).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    }
    expect((await post('/v1/messages', body, { url: keyed.url, headers: { 'x-api-key': 'messages-key', 'anthropic-beta': 'anything,at-all' } })).status).toBe(200);
    const count = await post('/v1/messages/count_tokens', { model: 'gpt-4o', messages: [] }, { url: keyed.url });
    expect(count.status).toBe(401);
    expect(JSON.parse(count.text)).toMatchObject(ANTHROPIC_ERROR);
  });

  it('errors raised before routing or by Node\'s parser: a malformed URL → 400, headers too large → 431', async () => {
    const port = Number(new URL(gateway.url).port);
    const raw = (target: string, extraHeader = '') => `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n${extraHeader}\r\n{}`;
    for (const [bytes, status] of [
      [raw('/v1/messages/%zz'), 400],
      [raw('/key/abc%zz/v1/messages'), 400],
      [raw('/v1/messages', `X-Filler: ${'x'.repeat(20_000)}\r\n`), 431],
    ] as const) {
      const answer = await sendRaw(port, bytes);
      expect(answer.status, bytes.slice(0, 60)).toBe(status);
      expect(JSON.parse(answer.body.toString('utf8'))).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.any(String) } });
    }
  });

  it("CORS preflight allows the Anthropic SDK's headers", async () => {
    const response = await request(`${gateway.url}/v1/messages`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key,anthropic-version,anthropic-beta' },
    });
    await response.body.text();
    expect(response.statusCode).toBe(204);
    const allowed = String(response.headers['access-control-allow-headers']).toLowerCase();
    for (const header of ['x-api-key', 'anthropic-version', 'anthropic-beta']) expect(allowed).toContain(header);
  });
});
