/**
 * The start-up check behind ChunkWriter's direct framing: does writing chunks behind
 * `ServerResponse` still put exactly the right bytes on the wire on this Node?
 */
import { createServer, ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ChunkWriter, useDirectFraming } from './chunk-writer.js';

const CRLF = '\r\n';

export interface FramingCheck {
  /** True when the bytes on the wire were exactly what `response.write` alone would have sent. */
  direct: boolean;
  /** Why not, when not. */
  reason?: string;
}

let processCheck: Promise<FramingCheck> | undefined;

/** Checks this Node once per process (`checkDirectFraming`) and from then on lets every ChunkWriter use the result. */
export function directFramingWorks(): Promise<FramingCheck> {
  processCheck ??= checkDirectFraming().then((result) => {
    useDirectFraming(result.direct);
    return result;
  });
  return processCheck;
}

const CHECK_PIECES: ReadonlyArray<string | Uint8Array> = ['first ', 'same turn ', '€ ✓ ', '', Buffer.from([0x00, 0x0d, 0x0a, 0xff]), 'next turn'];
const CHECK_END = ' the end';
const CHECK_TIMEOUT_MS = 5_000;

/**
 * Streams pieces through a direct ChunkWriter on a loopback server, as an answer does (two in
 * one turn, the rest in later turns, an empty one), reads the raw bytes on the client side and
 * accepts them only if they are one well-framed chunked response carrying exactly those
 * pieces. `ResponseClass` is node:http's `ServerResponse` option (tests pass one that
 * misbehaves).
 */
export async function checkDirectFraming(ResponseClass: typeof ServerResponse = ServerResponse): Promise<FramingCheck> {
  let sawChunked = false;
  const server = createServer({ ServerResponse: ResponseClass }, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    const writer = new ChunkWriter(response, true);
    void (async () => {
      writer.write(CHECK_PIECES[0]!);
      sawChunked = response.chunkedEncoding === true;
      writer.write(CHECK_PIECES[1]!);
      for (const piece of CHECK_PIECES.slice(2)) {
        await nextTurn();
        writer.write(piece);
      }
      await nextTurn();
      writer.end(CHECK_END);
    })();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a worker of `--workers`, a port of its own, not one shared through the
      // primary (a gateway started with port 0 would share this one's, and get its clients).
      server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, resolve);
    });
    const { port } = server.address() as AddressInfo;
    const bytes = await readWholeResponse(port);
    if (!sawChunked) return { direct: false, reason: 'response.chunkedEncoding was not true after the first write of an HTTP/1.1 answer' };
    const expected = Buffer.concat([...CHECK_PIECES, CHECK_END].map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)));
    const problem = chunkedBodyProblem(bytes, expected);
    return problem === undefined ? { direct: true } : { direct: false, reason: problem };
  } catch (error) {
    return { direct: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** Every byte of one response to a `Connection: close` GET, read until the server closes. */
function readWholeResponse(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no whole answer within ${CHECK_TIMEOUT_MS} ms`));
    }, CHECK_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(received));
    });
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  });
}

/** Undefined when `bytes` is a 200 chunked response whose body is `expected` and nothing follows it; else what is wrong. */
function chunkedBodyProblem(bytes: Buffer, expected: Buffer): string | undefined {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return 'no response head';
  const head = bytes.subarray(0, headEnd).toString('latin1');
  if (!head.startsWith('HTTP/1.1 200 ')) return `unexpected status line ${JSON.stringify(head.split('\r\n')[0])}`;
  if (!/\r\ntransfer-encoding: chunked(\r\n|$)/i.test(head)) return 'the answer is not chunked';
  const body: Buffer[] = [];
  let at = headEnd + 4;
  for (;;) {
    const lineEnd = bytes.indexOf(CRLF, at);
    const sizeText = lineEnd === -1 ? '' : bytes.subarray(at, lineEnd).toString('latin1');
    if (!/^[0-9a-f]+$/i.test(sizeText)) return `a bad chunk size line at byte ${at}`;
    const size = Number.parseInt(sizeText, 16);
    const dataEnd = lineEnd + 2 + size;
    if (bytes.subarray(dataEnd, dataEnd + 2).toString('latin1') !== CRLF) return `chunk at byte ${at} not followed by CRLF`;
    if (size === 0) {
      if (dataEnd + 2 !== bytes.length) return 'bytes after the terminating chunk';
      break;
    }
    body.push(bytes.subarray(lineEnd + 2, dataEnd));
    at = dataEnd + 2;
  }
  return Buffer.concat(body).equals(expected) ? undefined : 'the body is not the pieces written, in order';
}
