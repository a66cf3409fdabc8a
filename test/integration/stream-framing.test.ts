/**
 * The bytes of a streamed answer on the wire, read from a raw socket: HTTP/1.1 chunked framing
 * that a strict parser accepts (every chunk's size is its byte length, multi-byte text included,
 * no empty chunk before the end) with the connection kept for the next request; HTTP/1.0
 * without chunking, ended by the close; and a client that stops reading for a while gets every
 * byte once it reads again. Both writers: the translating one (/api/chat) and the /v1 relay.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let port: number;

const MANY_MODEL = 'framing/many';
const PIECES = Array.from({ length: 300 }, (_, index) => `Stück ${index} — ✓ 🌍 `);
const LONG_PIECES = Array.from({ length: 2000 }, (_, index) => `${index}:${'x'.repeat(400)} `);
const LONG_MODEL = 'framing/long';

beforeAll(async () => {
  fake = await startFakeOpenRouter({
    models: [...DEFAULT_MODELS, { id: MANY_MODEL, context_length: 8192, created: 1700000000 }, { id: LONG_MODEL, context_length: 8192, created: 1700000000 }],
  });
  // One event per write, so the gateway writes one piece per upstream read.
  fake.script(MANY_MODEL, { sse: textStream(PIECES), writeMode: 'event', delayMs: 1 });
  fake.script(LONG_MODEL, { sse: textStream(LONG_PIECES), writeMode: 'glued' });
  gateway = await startGateway(fake.baseUrl);
  port = Number(new URL(gateway.url).port);
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

function rawRequest(path: string, body: Record<string, unknown>, version = '1.1'): string {
  const text = JSON.stringify(body);
  return `POST ${path} HTTP/${version}\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

/** Reads from `socket` until `done(bytes)` says the response is complete, or the socket ends. */
function readUntil(socket: Socket, done: (bytes: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let bytes = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      bytes = Buffer.concat([bytes, chunk]);
      if (done(bytes)) finish();
    };
    const finish = (): void => {
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('error', reject);
      resolve(bytes);
    };
    socket.on('data', onData);
    socket.on('end', finish);
    socket.on('error', reject);
  });
}

interface ChunkedResponse {
  head: string;
  body: Buffer;
  chunkSizes: number[];
}

/** Parses one chunked HTTP/1.1 response strictly; undefined while incomplete. Throws on a framing error. */
function parseChunked(bytes: Buffer): ChunkedResponse | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const head = bytes.subarray(0, headEnd).toString('latin1');
  let at = headEnd + 4;
  const pieces: Buffer[] = [];
  const chunkSizes: number[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const sizeText = bytes.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk size line ${JSON.stringify(sizeText)}`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) {
      if (bytes.length < lineEnd + 4) return undefined;
      if (bytes.subarray(lineEnd + 2, lineEnd + 4).toString('latin1') !== '\r\n') throw new Error('no CRLF after the last chunk');
      return { head, body: Buffer.concat(pieces), chunkSizes };
    }
    const dataStart = lineEnd + 2;
    if (bytes.length < dataStart + size + 2) return undefined;
    if (bytes.subarray(dataStart + size, dataStart + size + 2).toString('latin1') !== '\r\n') throw new Error(`chunk of ${size} bytes not followed by CRLF`);
    pieces.push(bytes.subarray(dataStart, dataStart + size));
    chunkSizes.push(size);
    at = dataStart + size + 2;
  }
}

function complete(bytes: Buffer): boolean {
  return parseChunked(bytes) !== undefined;
}

async function openSocket(): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

describe('streamed answers on the wire', () => {
  it('/api/chat: strict chunked framing, one chunk per piece, the connection kept for the next request', async () => {
    const socket = await openSocket();
    try {
      for (let round = 0; round < 2; round++) {
        socket.write(rawRequest('/api/chat', { model: MANY_MODEL, messages: [{ role: 'user', content: 'hi' }] }));
        const response = parseChunked(await readUntil(socket, complete))!;
        expect(response.head).toMatch(/^HTTP\/1\.1 200 /);
        expect(response.head.toLowerCase()).toContain('transfer-encoding: chunked');
        expect(response.head.toLowerCase()).toContain('connection: keep-alive');
        const lines = parseNdjson(response.body.toString('utf8'));
        expect(lines.filter((line) => !line.done).map((line) => line.message.content).join('')).toBe(PIECES.join(''));
        expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
        // Paced upstream: many chunks, each a whole number of lines.
        expect(response.chunkSizes.length).toBeGreaterThan(10);
        let offset = 0;
        for (const size of response.chunkSizes) {
          offset += size;
          expect(response.body[offset - 1]).toBe(0x0a);
        }
      }
    } finally {
      socket.destroy();
    }
  });

  it('/v1/chat/completions relay: strict chunked framing and the same bytes of text', async () => {
    const socket = await openSocket();
    try {
      socket.write(rawRequest('/v1/chat/completions', { model: MANY_MODEL, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      const response = parseChunked(await readUntil(socket, complete))!;
      expect(response.head).toMatch(/^HTTP\/1\.1 200 /);
      const sse = response.body.toString('utf8');
      const text = sse
        .split('\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? '')
        .join('');
      expect(text).toBe(PIECES.join(''));
      expect(sse.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(response.chunkSizes.length).toBeGreaterThan(10);
    } finally {
      socket.destroy();
    }
  });

  it('HTTP/1.0: no chunking, the body ends with the connection', async () => {
    const socket = await openSocket();
    socket.write(rawRequest('/api/chat', { model: MANY_MODEL, messages: [{ role: 'user', content: 'hi' }] }, '1.0'));
    const bytes = await readUntil(socket, () => false);
    socket.destroy();
    const headEnd = bytes.indexOf('\r\n\r\n');
    const head = bytes.subarray(0, headEnd).toString('latin1').toLowerCase();
    expect(head).toMatch(/^http\/1\.1 200 /);
    expect(head).not.toContain('transfer-encoding');
    const lines = parseNdjson(bytes.subarray(headEnd + 4).toString('utf8'));
    expect(lines.filter((line) => !line.done).map((line) => line.message.content).join('')).toBe(PIECES.join(''));
    expect(lines.at(-1)).toMatchObject({ done: true });
  });

  it('a client that stops reading gets every byte once it reads again', async () => {
    const socket = await openSocket();
    try {
      socket.pause();
      socket.write(rawRequest('/api/chat', { model: LONG_MODEL, messages: [{ role: 'user', content: 'hi' }] }));
      // The answer (about 1 MB) piles up in the sockets meanwhile; the writer's own wait for a
      // full socket is tested in chunk-writer.test.ts, with more than the kernel buffers take.
      await new Promise((wake) => setTimeout(wake, 300));
      const reading = readUntil(socket, complete);
      socket.resume();
      const response = parseChunked(await reading)!;
      const lines = parseNdjson(response.body.toString('utf8'));
      expect(lines.filter((line) => !line.done).map((line) => line.message.content).join('')).toBe(LONG_PIECES.join(''));
      expect(lines.at(-1)).toMatchObject({ done: true });
    } finally {
      socket.destroy();
    }
  });
});
