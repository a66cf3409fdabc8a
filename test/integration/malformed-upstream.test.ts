/**
 * A malformed upstream event (a `data:` payload or an NDJSON line that is not a JSON object)
 * inside an otherwise healthy stream ends the answer with the client dialect's error, in
 * band after the first byte and with a 502 before it, never with a clean-looking end: on the
 * /v1 relay, on the OpenRouter → Ollama NDJSON translation, on OpenRouter → OpenAI over the
 * IR, and on an upstream Ollama's NDJSON translated for /v1. Upstream writes are cut per
 * event, per byte and at random.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpenAiChatCompletionChunk, OpenAiErrorResponse } from '../../schemas/openai.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { loadFixture, startFakeOpenRouter, type FakeOpenRouter, type WriteMode } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, startGatewayThroughIr, type TestGateway } from '../helpers/gateway.js';
import { readFileSync } from 'node:fs';
import { dataEvents } from '../helpers/sse.js';

const MID = 'fixture/malformed-mid-stream';
const BEFORE = 'fixture/malformed-before-start';
const WRITE_MODES: WriteMode[] = ['event', 'bytes', { randomSeed: 9, maxPiece: 40 }, 'glued'];
const UNREADABLE = 'OpenRouter sent an unreadable stream event';
const user = [{ role: 'user', content: 'hi' }];

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
/** A gateway whose OpenRouter adapter has no passthrough: /v1 chat goes through the IR. */
let irGateway: TestGateway;
let irUrl: string;

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  gateway = await startGateway(openRouter.baseUrl, { OLLAMA_BASE_URL: ollama.baseUrl });
  irGateway = await startGatewayThroughIr(openRouter.baseUrl);
  irUrl = irGateway.url;
});
afterAll(async () => {
  await Promise.all([gateway?.close(), irGateway?.close()]);
  await Promise.all([openRouter?.close(), ollama?.close()]);
});

async function post(url: string, path: string, body: Record<string, unknown>) {
  const response = await request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function scriptBoth(writeMode: WriteMode): void {
  openRouter.script(MID, { sse: loadFixture('malformed-mid-stream'), writeMode });
  openRouter.script(BEFORE, { sse: loadFixture('malformed-before-start'), writeMode });
}

describe('a malformed OpenRouter event', () => {
  it('ends the /v1 relay with an in-band error event, never [DONE]', async () => {
    for (const writeMode of WRITE_MODES) {
      scriptBoth(writeMode);
      const response = await post(gateway.url, '/v1/chat/completions', { model: MID, messages: user, stream: true });
      expect(response.status, JSON.stringify(writeMode)).toBe(200);
      expect(response.text).not.toContain('[DONE]');
      expect(response.text).not.toContain('"content":"Bonj\n');
      const events = dataEvents(response.text);
      for (const event of events.slice(0, -1)) OpenAiChatCompletionChunk.parse(event);
      expect(events.map((event) => event.choices?.[0]?.delta?.content)).toEqual(['', 'Bonjour', undefined]);
      expect(OpenAiErrorResponse.parse(events.at(-1)).error).toEqual({ message: UNREADABLE, type: 'api_error', param: null, code: 'upstream_bad_response' });
    }
  });

  it('answers the /v1 relay with a 502 when it comes before the first data event', async () => {
    for (const writeMode of WRITE_MODES) {
      scriptBoth(writeMode);
      const response = await post(gateway.url, '/v1/chat/completions', { model: BEFORE, messages: user, stream: true });
      expect(response.status).toBe(502);
      expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error).toMatchObject({ message: UNREADABLE, type: 'api_error' });
    }
  });

  it('ends the OpenRouter → Ollama NDJSON translation with an in-band error line, never done', async () => {
    for (const writeMode of WRITE_MODES) {
      scriptBoth(writeMode);
      const response = await post(gateway.url, '/api/chat', { model: MID, messages: user });
      expect(response.status).toBe(200);
      const lines = parseNdjson(response.text);
      expect(lines.some((line) => line.done === true)).toBe(false);
      expect(lines.slice(0, -1).map((line) => line.message.content).join('')).toBe('Bonjour');
      expect(lines.at(-1)).toEqual({ error: UNREADABLE });
    }
    const before = await post(gateway.url, '/api/chat', { model: BEFORE, messages: user });
    expect(before.status).toBe(502);
    expect(JSON.parse(before.text)).toEqual({ error: UNREADABLE });
  });

  it('ends OpenAI chat over the IR with an in-band error event, never [DONE]', async () => {
    for (const writeMode of WRITE_MODES) {
      scriptBoth(writeMode);
      const response = await post(irUrl, '/v1/chat/completions', { model: MID, messages: user, stream: true });
      expect(response.status).toBe(200);
      expect(response.text).not.toContain('[DONE]');
      const events = dataEvents(response.text);
      expect(events.slice(0, -1).map((event) => event.choices[0].delta.content ?? '').join('')).toBe('Bonjour');
      expect(OpenAiErrorResponse.parse(events.at(-1)).error).toMatchObject({ message: UNREADABLE, type: 'api_error' });
    }
    const before = await post(irUrl, '/v1/chat/completions', { model: BEFORE, messages: user, stream: true });
    expect(before.status).toBe(502);
    expect(OpenAiErrorResponse.parse(JSON.parse(before.text)).error.message).toBe(UNREADABLE);
  });
});

describe("a malformed line of an upstream Ollama's NDJSON", () => {
  const fixture = readFileSync(new URL('../fixtures/ollama/malformed-mid-stream.ndjson', import.meta.url), 'utf8');

  it('ends /v1 chat over the IR with an in-band error event, never [DONE]', async () => {
    for (const writeMode of WRITE_MODES) {
      ollama.script('llama3.2:latest', { ndjson: fixture, writeMode });
      const response = await post(gateway.url, '/v1/chat/completions', { model: 'llama3.2', messages: user, stream: true });
      expect(response.status).toBe(200);
      expect(response.text).not.toContain('[DONE]');
      const events = dataEvents(response.text);
      expect(events.slice(0, -1).map((event) => event.choices[0].delta.content ?? '').join('')).toBe('Bonjour le monde');
      expect(OpenAiErrorResponse.parse(events.at(-1)).error).toMatchObject({ message: 'Ollama sent an unreadable stream line', type: 'api_error' });
    }
  });

  it('answers with a 502 when it is the first line', async () => {
    ollama.script('llama3.2:latest', { ndjson: `<html>Bad gateway</html>\n${fixture}` });
    const response = await post(gateway.url, '/v1/chat/completions', { model: 'llama3.2', messages: user, stream: true });
    expect(response.status).toBe(502);
    expect(OpenAiErrorResponse.parse(JSON.parse(response.text)).error.message).toBe('Ollama sent an unreadable stream line');
  });

  it('ends the native /api/chat passthrough at that line: the lines before it byte for byte, then one {"error"} line, no done', async () => {
    const [good, bad] = [fixture.slice(0, fixture.indexOf('\n', fixture.indexOf('monde')) + 1), fixture.slice(fixture.indexOf('\n', fixture.indexOf('monde')) + 1)];
    expect(bad.split('\n')[0]!.trimEnd().endsWith('}')).toBe(false);
    for (const writeMode of WRITE_MODES) {
      ollama.script('llama3.2:latest', { ndjson: fixture, writeMode });
      const response = await post(gateway.url, '/api/chat', { model: 'llama3.2', messages: user });
      expect(response.status).toBe(200);
      expect(response.text).toBe(`${good}{"error":"Ollama sent an unreadable stream line"}\n`);
    }
  });
});
