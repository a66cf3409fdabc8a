/**
 * The server's receive timeout (REQUEST_RECEIVE_TIMEOUT_MS) bounds only the receiving of a
 * request: a client too slow to send its headers or body is cut with 408 (in the route's
 * dialect) and the connection closed, while an answer streamed for longer than the timeout
 * is never cut. A 1 s timeout here, against answers that take 3 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OllamaErrorResponse } from '../../schemas/ollama.js';
import { OpenAiErrorResponse } from '../../schemas/openai.js';
import { SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { checkStream, ndjson } from '../helpers/ollama-checks.js';
import { requestBytes, sendRaw } from '../helpers/raw-http.js';

const RECEIVE_TIMEOUT_MS = 1000;
const SLOW_MODEL = 'slow/model';
const PIECES = 10;
const PIECE_DELAY_MS = 300;

let fake: FakeOpenRouter;
let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [{ id: SLOW_MODEL, context_length: 8192, created: 1700000000 }] });
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < PIECES; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 2, completion_tokens: PIECES, total_tokens: PIECES + 2 } });
  // ~3.3 s from first to last piece: more than three receive timeouts.
  fake.script(SLOW_MODEL, { sse: sse + SSE_DONE, delayMs: PIECE_DELAY_MS });
  gateway = await startGateway(fake.baseUrl, { REQUEST_RECEIVE_TIMEOUT_MS: RECEIVE_TIMEOUT_MS });
  port = Number(new URL(gateway.url).port);
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

const chatBody = JSON.stringify({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'count' }] });

/** The request's bytes split in two: all but the last `tail` bytes now, the rest after `delayMs`. */
function splitRequest(path: string, tail: number, delayMs: number) {
  const bytes = requestBytes('POST', path, [['Content-Type', 'application/json']], chatBody);
  return [{ bytes: bytes.subarray(0, bytes.length - tail) }, { bytes: bytes.subarray(bytes.length - tail), afterMs: delayMs }];
}

describe('a client too slow to send its request is cut', () => {
  it('a body that stalls: 408 in OpenAI’s dialect on /v1, then the connection closes', async () => {
    const answer = await sendRaw(port, splitRequest('/v1/chat/completions', 10, 10_000), { timeoutMs: 8000 });
    expect(answer.status).toBe(408);
    expect(OpenAiErrorResponse.parse(JSON.parse(answer.body.toString()))).toEqual({
      error: { message: 'the request was not received in time', type: 'api_error', param: null, code: 'bad_request' },
    });
    // Cut after the timeout (Node checks every quarter of it here), long before the client's own 8 s.
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(RECEIVE_TIMEOUT_MS - 50);
    expect(answer.elapsedMs).toBeLessThan(RECEIVE_TIMEOUT_MS * 3);
    expect(fake.chatRequests()).toHaveLength(0);
  });

  it('a body trickled in byte by byte: the whole request is bounded, not each silence', async () => {
    const bytes = requestBytes('POST', '/api/chat', [['Content-Type', 'application/json']], chatBody);
    const headEnd = bytes.indexOf('\r\n\r\n') + 4;
    const pieces: Array<{ bytes: Buffer; afterMs?: number }> = [{ bytes: bytes.subarray(0, headEnd) }];
    for (let index = headEnd; index < bytes.length; index++) pieces.push({ bytes: bytes.subarray(index, index + 1), afterMs: 100 });
    const answer = await sendRaw(port, pieces, { timeoutMs: 8000 });
    expect(answer.status).toBe(408);
    expect(OllamaErrorResponse.parse(JSON.parse(answer.body.toString()))).toEqual({ error: 'the request was not received in time' });
    expect(answer.elapsedMs).toBeLessThan(RECEIVE_TIMEOUT_MS * 3);
  });

  it('headers that never end: 408 and the connection closes', async () => {
    const answer = await sendRaw(port, 'GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\n', { timeoutMs: 8000 });
    expect(answer.status).toBe(408);
    expect(OllamaErrorResponse.parse(JSON.parse(answer.body.toString()))).toEqual({ error: 'the request was not received in time' });
    expect(answer.elapsedMs).toBeLessThan(RECEIVE_TIMEOUT_MS * 3);
  });

  it('a body sent slowly but within the timeout is answered', async () => {
    const answer = await sendRaw(port, splitRequest('/api/show', 5, RECEIVE_TIMEOUT_MS / 2), { timeoutMs: 8000 });
    expect(answer.status).not.toBe(408);
  });
});

describe('an answer longer than the receive timeout is never cut', () => {
  it('Ollama NDJSON stream: every line and the done line, over ~3 s', async () => {
    const answer = await sendRaw(port, requestBytes('POST', '/api/chat', [['Content-Type', 'application/json']], chatBody), { timeoutMs: 15_000 });
    expect(answer.status).toBe(200);
    const lines = ndjson(answer.body.toString());
    checkStream(lines, 'chat');
    expect(lines.map((line) => line.message.content).join('')).toBe(Array.from({ length: PIECES }, (_, index) => `w${index} `).join(''));
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
    expect(answer.elapsedMs).toBeGreaterThan(RECEIVE_TIMEOUT_MS * 2.5);
  });

  it('OpenAI SSE stream: every piece and [DONE], over ~3 s', async () => {
    const body = JSON.stringify({ model: SLOW_MODEL, stream: true, messages: [{ role: 'user', content: 'count' }] });
    const answer = await sendRaw(port, requestBytes('POST', '/v1/chat/completions', [['Content-Type', 'application/json']], body), { timeoutMs: 15_000 });
    expect(answer.status).toBe(200);
    const text = answer.body.toString();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).toContain('w9 ');
    expect(answer.elapsedMs).toBeGreaterThan(RECEIVE_TIMEOUT_MS * 2.5);
  });
});
