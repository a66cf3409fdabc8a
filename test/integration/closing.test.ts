/**
 * While the gateway closes, a request that still reaches it (pipelined behind an answer that
 * is finishing) gets 503 in its route's dialect, with Retry-After and Connection: close.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
beforeAll(async () => {
  fake = await startFakeOpenRouter();
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 5; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  fake.script('openai/gpt-4o', { sse: sse + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE, delayMs: 100 });
});
afterAll(async () => fake?.close());

/** A slow chat; the gateway starts closing; then `path`, pipelined on the same connection while the chat still streams. */
async function pipelinedWhileClosing(path: string): Promise<string> {
  const gateway = await startGateway(fake.baseUrl);
  const port = Number(new URL(gateway.url).port);
  const chat = JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'count' }] });
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(chat)}\r\n\r\n${chat}`);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const closed = gateway.app.close();
  // Sent once closing has begun, while the chat is still streaming on this connection.
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await ended;
  await closed;
  return Buffer.concat(received).toString('utf8');
}

describe('closing', () => {
  it('/api: 503 {"error"} with Retry-After and Connection: close, after the open answer finished', async () => {
    const text = await pipelinedWhileClosing('/api/tags');
    expect(text).toContain('"done":true');
    const second = text.slice(text.lastIndexOf('HTTP/1.1 '));
    expect(second).toMatch(/^HTTP\/1\.1 503/);
    expect(second).toMatch(/\r\nretry-after: 5\r\n/i);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(second).toContain('{"error":"ollama-bridge is shutting down; retry in a moment"}');
  });

  it('/v1: 503 in the OpenAI shape', async () => {
    const second = (await pipelinedWhileClosing('/v1/models')).split('HTTP/1.1 ').at(-1)!;
    expect(second).toMatch(/^503/);
    const body = JSON.parse(second.slice(second.indexOf('{')));
    expect(body.error).toMatchObject({ message: 'ollama-bridge is shutting down; retry in a moment', code: 'shutting_down' });
  });
});
