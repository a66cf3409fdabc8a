/**
 * Errors over real HTTP, in Ollama's dialect: before the first byte a real status and
 * `{"error": "..."}`; after it one `{"error"}` line and the end, never a done line. Also bad
 * input, routing/discovery basics and what the logs must never contain.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OllamaTagsResponse } from '../../schemas/ollama.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import {
  DEFAULT_MODELS,
  FAKE_API_KEY,
  SSE_COMMENT,
  SSE_DONE,
  loadFixture,
  sseChunk,
  startFakeOpenRouter,
  type FakeModel,
  type FakeOpenRouter,
  type WriteMode,
} from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { checkStream, expectErrorBody, expectNoStackTrace, getRaw, ndjson, postRaw, settlesWithin } from '../helpers/ollama-checks.js';

const ERROR_MODELS: FakeModel[] = ['err/a', 'err/b', 'err/c', 'err/d', 'err/e', 'err/f', 'err/g', 'err/h', 'err/i', 'err/j', 'err/k'].map((id) => ({
  id,
  context_length: 8192,
  tools: true,
  created: 1600000000,
}));

let fake: FakeOpenRouter;
let gateway: TestGateway;
/** Small upstream timeouts. */
let impatient: TestGateway;
/** A 2 KiB body limit. */
let smallBodies: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, ...ERROR_MODELS] });
  [gateway, impatient, smallBodies] = await Promise.all([
    startGateway(fake.baseUrl),
    startGateway(fake.baseUrl, { UPSTREAM_HEADERS_TIMEOUT_MS: 700, UPSTREAM_BODY_TIMEOUT_MS: 700 }),
    startGateway(fake.baseUrl, { BODY_LIMIT_BYTES: 2048 }),
  ]);
});
afterAll(async () => {
  await Promise.all([gateway?.close(), impatient?.close(), smallBodies?.close()]);
  await fake?.close();
});

const user = (content = 'hi') => [{ role: 'user', content }];
/** No Content-Type (Fastify's catch-all parser) and JSON (Fastify's own JSON parser). */
const HEADER_VARIANTS: Array<Record<string, string>> = [{}, { 'content-type': 'application/json' }];
const chat = (body: Record<string, unknown>, on: TestGateway = gateway) => postRaw(`${on.url}/api/chat`, body);
const orError = (code: number, message: string, extra: Record<string, unknown> = {}) => ({ error: { message, code, ...extra }, user_id: 'user_fake' });

/** The lines of a stream that failed after its first byte: content first, one error line last. */
function failedStream(text: string): { content: string; error: string } {
  const lines = ndjson(text);
  checkStream(lines, 'chat');
  const last = lines.at(-1);
  expect(last, 'the stream ends with an error line').toHaveProperty('error');
  expect(Object.keys(last)).toEqual(['error']);
  expectNoStackTrace(last.error);
  expect(lines.some((line) => line.done === true), 'never a done line after an error').toBe(false);
  return { content: lines.slice(0, -1).map((line) => line.message.content).join(''), error: last.error };
}

describe('upstream errors before the first byte → HTTP status + {"error"}', () => {
  it('429 with Retry-After: 7 → 429 and retry-after: 7', async () => {
    fake.script('err/a', { status: 429, headers: { 'Retry-After': '7' }, body: orError(429, 'Rate limit exceeded: free-models-per-day') });
    for (const stream of [true, false]) {
      const result = await chat({ model: 'err/a', messages: user(), stream });
      const message = expectErrorBody(result, 429);
      expect(result.headers['retry-after']).toBe('7');
      expect(message).toContain('Rate limit exceeded: free-models-per-day');
    }
  });

  it('402 → 402 with the upstream message', async () => {
    const upstreamMessage = 'This request requires more credits, or fewer max_tokens. You requested up to 65536 tokens, but can only afford 4121.';
    fake.script('err/b', { status: 402, body: orError(402, upstreamMessage) });
    expect(expectErrorBody(await chat({ model: 'err/b', messages: user() }), 402)).toContain(upstreamMessage);
  });

  it('400 invalid model → 400', async () => {
    fake.script('err/c', { status: 400, body: orError(400, 'err/c is not a valid model ID') });
    expect(expectErrorBody(await chat({ model: 'err/c', messages: user() }), 400)).toContain('is not a valid model ID');
  });

  it('404 "No endpoints found that support tool use" → 404', async () => {
    fake.script('err/d', { status: 404, body: orError(404, 'No endpoints found that support tool use') });
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    expect(expectErrorBody(await chat({ model: 'err/d', messages: user(), tools }), 404)).toContain('No endpoints found that support tool use');
  });

  it.each([500, 502, 503])('%i → the same status', async (status) => {
    fake.script('err/e', { status, body: orError(status, 'Provider returned error', { metadata: { raw: `upstream said ${status}`, provider_name: 'Fake' } }) });
    const message = expectErrorBody(await chat({ model: 'err/e', messages: user() }), status);
    expect(message).toContain('Provider returned error');
    expect(message).toContain(`upstream said ${status}`);
  });

  it('an in-band error before any token (error-legacy) → real HTTP 429', async () => {
    for (const writeMode of ['event', 'glued', 'bytes'] as WriteMode[]) {
      fake.script('fixture/error-legacy', { sse: loadFixture('error-legacy'), writeMode });
      for (const stream of [true, false]) {
        const result = await chat({ model: 'fixture/error-legacy', messages: user(), stream });
        expect(expectErrorBody(result, 429)).toContain('Rate limit exceeded: free-models-per-day');
      }
    }
  });

  it('upstream headers timeout → 504', async () => {
    fake.script('err/f', { headersDelayMs: 5000, sse: loadFixture('text') });
    const before = fake.chatRequests().length;
    const message = expectErrorBody(await chat({ model: 'err/f', messages: user() }, impatient), 504);
    expect(message).toMatch(/OpenRouter/);
    expect(message).toMatch(/time/);
    // The gateway gave up on the upstream request too.
    const upstream = fake.chatRequests()[before]!;
    expect(await settlesWithin(upstream.settled, 2000)).toBe(true);
    expect(upstream.aborted).toBe(true);
  });

  it('upstream silent after its headers, before any token → 504', async () => {
    fake.script('err/g', { sse: loadFixture('text'), delayMs: 3000 });
    const message = expectErrorBody(await chat({ model: 'err/g', messages: user() }, impatient), 504);
    expect(message).toMatch(/OpenRouter/);
  });
});

describe('the OpenRouter key refused', () => {
  let otherFake: FakeOpenRouter;
  let refused: TestGateway;
  beforeAll(async () => {
    otherFake = await startFakeOpenRouter({ apiKey: 'other' });
    refused = await startGateway(otherFake.baseUrl);
  });
  afterAll(async () => {
    await refused?.close();
    await otherFake?.close();
  });

  it('upstream 401 → 502 saying the OpenRouter key was refused (never 401)', async () => {
    for (const stream of [true, false]) {
      const result = await chat({ model: 'openai/gpt-4o', messages: user(), stream }, refused);
      const message = expectErrorBody(result, 502);
      expect(message).toMatch(/OpenRouter/);
      expect(message).toMatch(/refused/);
      expect(message).toMatch(/key/);
      expect(message).not.toContain(FAKE_API_KEY);
    }
    expect(otherFake.chatRequests().length).toBe(2);
  });

  it('an in-band 401 before any token → 502 saying the key was refused, on /api/chat as through the /v1 relay (one reading of OpenRouter\'s errors)', async () => {
    fake.script('err/k', { sse: `${SSE_COMMENT}data: {"error":{"code":401,"message":"User not found."}}\n\n` });
    for (const stream of [true, false]) {
      const message = expectErrorBody(await chat({ model: 'err/k', messages: user(), stream }), 502);
      expect(message).toMatch(/OpenRouter refused the gateway's API key \(HTTP 401: User not found\.\)/);
    }
    const relayed = await postRaw(`${gateway.url}/v1/chat/completions`, { model: 'err/k', messages: user(), stream: true });
    expect(relayed.status).toBe(502);
    expect(JSON.parse(relayed.text).error).toMatchObject({ code: 'upstream_key_refused', message: expect.stringContaining('HTTP 401: User not found.') });
  });
});

describe('upstream unreachable', () => {
  async function closedPort(): Promise<number> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    return port;
  }

  it('upstream gone after the catalog was fetched → 502 with a clear message', async () => {
    const doomed = await startFakeOpenRouter();
    const orphan = await startGateway(doomed.baseUrl);
    try {
      await doomed.close();
      const message = expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: user() }, orphan), 502);
      expect(message).toMatch(/cannot reach OpenRouter/);
    } finally {
      await orphan.close();
    }
  });

  it('upstream never reachable → 503: the model catalog cannot load, and the message says why', async () => {
    const port = await closedPort();
    const orphan = await startGateway(`http://127.0.0.1:${port}/api/v1`);
    try {
      const message = expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: user() }, orphan), 503);
      expect(message).toMatch(/catalog/);
      expect(message).toMatch(/cannot reach OpenRouter/);
      expect(message).toMatch(/ECONNREFUSED/);
    } finally {
      await orphan.close();
    }
  });
});

describe('upstream errors after the first byte → one {"error"} line, no done line', () => {
  it.each(['event', 'glued', 'bytes'] as const)('mid-stream error event keeps the partial content line before it (%s)', async (writeMode) => {
    fake.script('fixture/error-mid-stream', { sse: loadFixture('error-mid-stream'), writeMode });
    const result = await chat({ model: 'fixture/error-mid-stream', messages: user() });
    expect(result.status).toBe(200);
    const { content, error } = failedStream(result.text);
    expect(content).toBe('partial answ');
    expect(error).toBe('Provider disconnected unexpectedly');
  });

  it('a stream that ends without finishing (truncated) → error line', async () => {
    const result = await chat({ model: 'fixture/truncated', messages: user() });
    expect(result.status).toBe(200);
    const { content, error } = failedStream(result.text);
    expect(content).toBe('Once upon a time');
    expect(error).toMatch(/OpenRouter/);
  });

  it('the upstream socket destroyed mid-stream → error line', async () => {
    // The trailing keep-alive comment goes out with the close: data written in the same instant
    // as an abrupt close can be dropped by the HTTP client, the content before it cannot.
    const sse = SSE_COMMENT + sseChunk({ role: 'assistant', content: 'Hello' }) + sseChunk({ role: 'assistant', content: ' wor' }) + SSE_COMMENT;
    fake.script('err/h', { sse, destroyAfter: true, delayMs: 40 });
    const result = await chat({ model: 'err/h', messages: user() });
    expect(result.status).toBe(200);
    const { content, error } = failedStream(result.text);
    expect(content).toBe('Hello wor');
    expect(error).toMatch(/OpenRouter/);
    expect(error, 'the upstream was reached; it broke off').not.toMatch(/cannot reach/);
  });

  it('the upstream going silent mid-answer (body timeout) → error line', async () => {
    const sse =
      sseChunk({ role: 'assistant', content: 'Hello' }) +
      sseChunk({ role: 'assistant', content: ' there' }) +
      sseChunk({ role: 'assistant', content: '' }, 'stop') +
      SSE_DONE;
    fake.script('err/i', { sse, pauseAfter: { pieces: 1, ms: 3000 } });
    const result = await chat({ model: 'err/i', messages: user() }, impatient);
    expect(result.status).toBe(200);
    const { content, error } = failedStream(result.text);
    expect(content).toBe('Hello');
    expect(error).toMatch(/silent|timeout/);
  });
});

describe('stream:false whose upstream fails midway → HTTP error status', () => {
  it('mid-stream error event → its status (502) and message', async () => {
    fake.script('fixture/error-mid-stream', { sse: loadFixture('error-mid-stream') });
    const result = await chat({ model: 'fixture/error-mid-stream', messages: user(), stream: false });
    expect(expectErrorBody(result, 502)).toBe('Provider disconnected unexpectedly');
  });

  it('truncated stream → 502', async () => {
    expect(expectErrorBody(await chat({ model: 'fixture/truncated', messages: user(), stream: false }), 502)).toMatch(/OpenRouter/);
  });

  it('socket destroyed mid-stream → 502', async () => {
    fake.script('err/j', { sse: sseChunk({ role: 'assistant', content: 'Hel' }), destroyAfter: true });
    expectErrorBody(await chat({ model: 'err/j', messages: user(), stream: false }), 502);
  });

  it('idle mid-answer → 504', async () => {
    const sse = sseChunk({ role: 'assistant', content: 'Hello' }) + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE;
    fake.script('err/i', { sse, pauseAfter: { pieces: 1, ms: 3000 } });
    expectErrorBody(await chat({ model: 'err/i', messages: user(), stream: false }, impatient), 504);
  });
});

describe('bad input', () => {
  it('chat without a model → 400 "model is required"', async () => {
    expect(expectErrorBody(await chat({ messages: user() }), 400)).toBe('model is required');
  });

  it('generate without a model → 404 "model \'\' not found" (as Ollama)', async () => {
    expect(expectErrorBody(await postRaw(`${gateway.url}/api/generate`, { prompt: 'x' }), 404)).toBe("model '' not found");
  });

  it('malformed JSON → 400, with or without a JSON content type', async () => {
    for (const headers of HEADER_VARIANTS) {
      expectErrorBody(await postRaw(`${gateway.url}/api/chat`, '{"model": "openai/gpt-4o", ', headers), 400);
    }
  });

  it('a wrong type ("stream":"yes") → 400 naming the field', async () => {
    const message = expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: user(), stream: 'yes' }), 400);
    expect(message).toContain('stream');
  });

  it('an empty body → 400 "missing request body"', async () => {
    for (const headers of HEADER_VARIANTS) {
      expect(expectErrorBody(await postRaw(`${gateway.url}/api/chat`, '', headers), 400)).toBe('missing request body');
    }
  });

  it('an unknown route → 404 with {"error"}', async () => {
    expectErrorBody(await getRaw(`${gateway.url}/api/nope`), 404);
    expectErrorBody(await postRaw(`${gateway.url}/nope`, {}), 404);
  });

  it('GET /api/chat → 405', async () => {
    expectErrorBody(await getRaw(`${gateway.url}/api/chat`), 405);
  });

  it('a body over BODY_LIMIT_BYTES → 413', async () => {
    const body = { model: 'openai/gpt-4o', messages: user('x'.repeat(4096)) };
    for (const headers of HEADER_VARIANTS) {
      expectErrorBody(await postRaw(`${smallBodies.url}/api/chat`, JSON.stringify(body), headers), 413);
    }
    // Below the limit the same gateway answers.
    expect((await chat({ model: 'openai/gpt-4o', messages: user('short') }, smallBodies)).status).toBe(200);
  });

  it("an unknown model → 404 \"model 'x' not found\"", async () => {
    const before = fake.chatRequests().length;
    expect(expectErrorBody(await chat({ model: 'nope/missing', messages: user() }), 404)).toBe("model 'nope/missing' not found");
    expect(expectErrorBody(await postRaw(`${gateway.url}/api/generate`, { model: 'Nope/Missing:v2', prompt: 'x' }), 404)).toBe("model 'Nope/Missing:v2' not found");
    expect(fake.chatRequests().length).toBe(before);
  });

  it('a form-encoded Content-Type with a JSON body still works (curl -d)', async () => {
    const result = await postRaw(
      `${gateway.url}/api/chat`,
      JSON.stringify({ model: 'openai/gpt-4o', messages: user('curl'), stream: false }),
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text).message.content).toBe('Echo from openai/gpt-4o: curl');
  });

  it('an invalid think value → 400', async () => {
    const message = expectErrorBody(await chat({ model: 'anthropic/claude-sonnet-4.5', messages: user(), think: 'ultra' }), 400);
    expect(message).toContain('invalid think value');
  });

  it('tools on a model without tool support → 400 "… does not support tools", never sent upstream', async () => {
    const before = fake.chatRequests().length;
    const tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }];
    const message = expectErrorBody(await chat({ model: 'deepseek/deepseek-chat-v3:free', messages: user(), tools }), 400);
    expect(message).toMatch(/deepseek\/deepseek-chat-v3:free does not support tools$/);
    expect(fake.chatRequests().length).toBe(before);
  });

  it('an invalid keep_alive → 400', async () => {
    expect(expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: user(), keep_alive: '300' }), 400)).toContain('missing unit');
  });

  it('messages of the wrong shape → 400', async () => {
    expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: [{ role: 'wizard', content: 'x' }] }), 400);
    expectErrorBody(await chat({ model: 'openai/gpt-4o', messages: 'hello' }), 400);
  });
});

describe('routing and discovery basics', () => {
  it('GET / and HEAD / → "Ollama is running"', async () => {
    const get = await getRaw(`${gateway.url}/`);
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toMatch(/^text\/plain/);
    expect(get.text).toBe('Ollama is running');
    const head = await getRaw(`${gateway.url}/`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('/api/version is digits.digits.digits and at least 0.6.4', async () => {
    const result = await getRaw(`${gateway.url}/api/version`);
    expect(result.status).toBe(200);
    const { version } = JSON.parse(result.text);
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const [major, minor, patch] = (version as string).split('.').map(Number) as [number, number, number];
    expect(major * 1e6 + minor * 1e3 + patch).toBeGreaterThanOrEqual(6004);
    expect((await getRaw(`${gateway.url}/api/version`, 'HEAD')).status).toBe(200);
  });

  it('/api/tags lists every fake model with a tag and matches the schema', async () => {
    const result = await getRaw(`${gateway.url}/api/tags`);
    expect(result.status).toBe(200);
    const tags = OllamaTagsResponse.parse(JSON.parse(result.text));
    const names = tags.models.map((model) => model.name);
    const expected = [...DEFAULT_MODELS, ...ERROR_MODELS].map((model) => (model.id.includes(':') ? model.id : `${model.id}:latest`));
    expect([...names].sort()).toEqual([...expected].sort());
    expect(names).toContain('openai/gpt-4o:latest');
    expect(names).toContain('deepseek/deepseek-chat-v3:free');
    for (const model of tags.models) expect(model.model).toBe(model.name);
    const head = await getRaw(`${gateway.url}/api/tags`, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it.each([
    ['POST', '/api/pull'],
    ['POST', '/api/push'],
    ['POST', '/api/create'],
    ['POST', '/api/copy'],
    ['DELETE', '/api/delete'],
    ['POST', '/api/blobs/sha256:0000'],
  ] as const)('%s %s → 501 with {"error"}', async (method, path) => {
    const response = await request(`${gateway.url}${path}`, { method, body: JSON.stringify({ model: 'openai/gpt-4o', name: 'openai/gpt-4o' }) });
    const text = await response.body.text();
    expectErrorBody({ status: response.statusCode, headers: response.headers, text }, 501);
  });

  it('HEAD /api/blobs/:digest → 501 without a body', async () => {
    const result = await getRaw(`${gateway.url}/api/blobs/sha256:0000`, 'HEAD');
    expect(result.status).toBe(501);
  });
});

describe('logging never reveals a key', () => {
  const captured: string[] = [];
  const apps: FastifyInstance[] = [];
  let otherFake: FakeOpenRouter;

  async function loggingGateway(baseUrl: string): Promise<string> {
    const config = loadConfig({
      overrides: { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: baseUrl, PORT: 0, LOG_LEVEL: 'debug' },
      envFile: false,
      readProcessEnv: false,
    });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        captured.push(chunk.toString('utf8'));
        callback();
      },
    });
    const app = await buildApp({ config, logDestination: destination });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    await app.catalog.start();
    const { port } = app.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  beforeAll(async () => {
    otherFake = await startFakeOpenRouter({ apiKey: 'other' });
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await otherFake?.close();
  });

  it('at debug level: a chat, an upstream 401 and a client Authorization header leave no key in the logs', async () => {
    const good = await loggingGateway(fake.baseUrl);
    const bad = await loggingGateway(otherFake.baseUrl);
    const clientKey = 'secret-client-key';
    const headers = { authorization: `Bearer ${clientKey}`, 'x-api-key': clientKey };
    const ok = await postRaw(`${good}/api/chat`, { model: 'openai/gpt-4o', messages: user('log me') }, headers);
    expect(ok.status).toBe(200);
    const refusedResult = await postRaw(`${bad}/api/chat`, { model: 'openai/gpt-4o', messages: user(), stream: false }, headers);
    expect(refusedResult.status).toBe(502);
    expect((await getRaw(`${good}/api/tags`)).status).toBe(200);
    expect((await postRaw(`${good}/api/chat`, { model: 'nope/missing', messages: user() }, headers)).status).toBe(404);

    const text = captured.join('');
    // The logs did record these requests (so the check below is not vacuous).
    expect(text).toContain('/api/chat');
    expect(text).toMatch(/refused/);
    expect(text).not.toContain(FAKE_API_KEY);
    expect(text).not.toContain(clientKey);
  });
});
