/**
 * While the gateway closes, a request that still reaches it (pipelined behind an answer that
 * is finishing) gets 503 in its route's dialect, with Retry-After and Connection: close.
 * While it drains (a worker leaving in a rolling restart), it takes no new connection but
 * answers a request on a connection it had already accepted, with Connection: close.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
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

/** A connection the gateway has accepted, nothing sent on it yet; everything it receives, once it closes. */
async function acceptedConnection(port: number): Promise<{ socket: Socket; received: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const received = new Promise<string>((resolve) => socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8'))));
  socket.on('error', () => undefined);
  return { socket, received };
}

describe('draining', () => {
  it('takes no new connection, answers a request on one it had accepted (Connection: close), then closes', async () => {
    const gateway = await startGateway(fake.baseUrl);
    const port = Number(new URL(gateway.url).port);
    const { socket, received } = await acceptedConnection(port);
    // Accepted by the server: the request comes only after the drain began.
    await new Promise((resolve) => setTimeout(resolve, 50));
    gateway.app.drain();
    const refused = connect(port, '127.0.0.1');
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
    socket.write('GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const text = await received;
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toContain('"version"');
    await gateway.app.close();
  });

  it('without the drain, closing refuses a request on a connection accepted just before (503, or dropped unread): what the drain is for', async () => {
    const gateway = await startGateway(fake.baseUrl);
    const { socket, received } = await acceptedConnection(Number(new URL(gateway.url).port));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = gateway.app.close();
    socket.write('GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await received).not.toMatch(/^HTTP\/1\.1 200 /);
    await closed;
  });
});
