/**
 * ChunkWriter on a real node:http response and a raw client socket, framing chunks itself
 * (direct) and through response.write alone (the fallback): backpressure comes from the
 * socket (write says wait once its buffer is full, drained() resolves only once the client
 * reads again), binary and text pieces are framed alike, empty pieces are skipped (an empty
 * chunk would end the body), and end() leaves the connection ready for the next request.
 * The start-up check passes on this Node and fails, with a reason, when a response keeps
 * bytes back; after a failed check every piece goes through response.write.
 */
import { createServer, ServerResponse, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkWriter, useDirectFraming } from '../../src/streaming/chunk-writer.js';
import { checkDirectFraming } from '../../src/streaming/chunk-framing-check.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (response: ServerResponse) => Promise<void>): Promise<number> {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    void handler(response);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function get(socket: Socket, port: number): void {
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
}

/** The body of one chunked response read from `socket`, once its terminating chunk arrived. */
function readChunkedBody(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    let tail = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received.push(chunk);
      tail = Buffer.concat([tail, chunk]).subarray(-7);
      if (!tail.toString('latin1').endsWith('\r\n0\r\n\r\n')) return;
      socket.off('data', onData);
      try {
        resolve(chunkedBody(Buffer.concat(received)));
      } catch (error) {
        reject(error);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Strictly decodes a whole chunked response (head, chunks, terminator) to its body. */
function chunkedBody(bytes: Buffer): Buffer {
  let at = bytes.indexOf('\r\n\r\n') + 4;
  const body: Buffer[] = [];
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    const sizeText = bytes.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk size line ${JSON.stringify(sizeText)}`);
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) return Buffer.concat(body);
    if (bytes.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString('latin1') !== '\r\n') throw new Error('a chunk not followed by CRLF');
    body.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 4 + size;
  }
}

for (const direct of [true, false]) describe(`ChunkWriter, ${direct ? 'framing chunks itself' : 'through response.write'}`, () => {
  it('waits on the socket: drained() holds the writer until the client reads again, and no byte is lost', async () => {
    const piece = Buffer.alloc(256 * 1024, 0x61);
    const pieces = 64; // 16 MB: far more than the kernel's socket buffers take
    const waits: Array<[number, number]> = [];
    const port = await serve(async (response) => {
      const writer = new ChunkWriter(response, direct);
      for (let index = 0; index < pieces; index++) {
        if (writer.write(piece)) continue;
        const started = Date.now();
        await writer.drained();
        waits.push([started, Date.now()]);
      }
      writer.end('the end');
    });
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    get(socket, port);
    await new Promise((wake) => setTimeout(wake, 400));
    const resumedAt = Date.now();
    const body = readChunkedBody(socket);
    socket.resume();
    const bytes = await body;
    socket.destroy();
    // One wait began while the client read nothing and ended only once it read again.
    expect(waits.some(([started, ended]) => started < resumedAt && ended >= resumedAt)).toBe(true);
    expect(bytes.length).toBe(pieces * piece.length + 'the end'.length);
    expect(bytes.subarray(-7).toString()).toBe('the end');
  });

  it('frames text (multi-byte) and binary pieces alike, skips empty ones, and keeps the connection', async () => {
    const port = await serve(async (response) => {
      const writer = new ChunkWriter(response, direct);
      writer.write('first ');
      writer.write('');
      writer.write('€uro ✓ ');
      writer.write(new Uint8Array(0));
      writer.write(Buffer.from([0x00, 0x0d, 0x0a, 0xff]));
      writer.end('');
    });
    const socket = connect(port, '127.0.0.1');
    for (let round = 0; round < 2; round++) {
      const body = readChunkedBody(socket);
      get(socket, port);
      expect(await body).toEqual(Buffer.concat([Buffer.from('first €uro ✓ '), Buffer.from([0x00, 0x0d, 0x0a, 0xff])]));
    }
    socket.destroy();
  });

  it('on a response already closed, drained() resolves at once', async () => {
    let outcome = '';
    const port = await serve(async (response) => {
      const writer = new ChunkWriter(response, direct);
      writer.write('x');
      response.destroy();
      await new Promise((wake) => response.once('close', wake));
      outcome = await Promise.race([writer.drained().then(() => 'resolved'), new Promise<string>((wake) => setTimeout(() => wake('hung'), 1_000))]);
    });
    const socket = connect(port, '127.0.0.1');
    socket.resume();
    get(socket, port);
    await new Promise((wake) => socket.once('close', wake));
    await expect.poll(() => outcome, { timeout: 2_000 }).not.toBe('');
    expect(outcome).toBe('resolved');
  });
});

/**
 * A response whose first bytes (head and first piece) reach the socket a turn late, as if a
 * Node release kept them in the response's own queue: a piece written straight to the socket
 * would overtake them.
 */
class HoldsFirstBytesBack extends ServerResponse {
  constructor(request: IncomingMessage) {
    super(request);
    const self = this as unknown as { _writeRaw: (...args: unknown[]) => boolean };
    const writeRaw = self._writeRaw.bind(this);
    let held = false;
    self._writeRaw = (...args: unknown[]) => {
      if (held) return writeRaw(...args);
      held = true;
      setImmediate(() => writeRaw(...args));
      return true;
    };
  }
}

describe('the start-up check of direct framing', () => {
  it(`passes on this Node (${process.version})`, async () => {
    expect(await checkDirectFraming()).toEqual({ direct: true });
  });

  it('fails, saying why, when the response keeps bytes back that a direct write would overtake', async () => {
    const check = await checkDirectFraming(HoldsFirstBytesBack as unknown as typeof ServerResponse);
    expect(check.direct).toBe(false);
    expect(check.reason).toMatch(/status line|chunk|body/);
  });

  it('after a failed check, every piece goes through response.write', async () => {
    const pieces = ['one ', 'two ', 'three'];
    const writesFor = async (enabled: boolean): Promise<{ writes: number; body: Buffer }> => {
      useDirectFraming(enabled);
      let writes = 0;
      try {
        const port = await serve(async (response) => {
          const write = response.write.bind(response) as (chunk: string | Uint8Array) => boolean;
          response.write = ((chunk: string | Uint8Array) => {
            writes++;
            return write(chunk);
          }) as typeof response.write;
          const writer = new ChunkWriter(response);
          for (const piece of pieces) writer.write(piece);
          writer.end();
        });
        const socket = connect(port, '127.0.0.1');
        const body = readChunkedBody(socket);
        get(socket, port);
        const bytes = await body;
        socket.destroy();
        return { writes, body: bytes };
      } finally {
        useDirectFraming(false);
        server?.closeAllConnections();
        await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
        server = undefined;
      }
    };
    const fallback = await writesFor(false);
    const checked = await writesFor(true);
    expect(fallback).toEqual({ writes: pieces.length, body: Buffer.from(pieces.join('')) });
    expect(checked).toEqual({ writes: 1, body: Buffer.from(pieces.join('')) });
  });
});
