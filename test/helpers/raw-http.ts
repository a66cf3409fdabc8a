/**
 * HTTP/1.1 over a bare socket, for requests no HTTP client would build (malformed
 * percent-encoding, odd headers, truncated bodies): the bytes go out exactly as given, the
 * answer is read until the server closes the connection.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the connection closed without a status line. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Milliseconds from connect to close. */
  elapsedMs: number;
}

export interface RawRequestOptions {
  /** Give up (destroy the socket) after this long; the answer then has what arrived. */
  timeoutMs?: number;
}

/** Sends `bytes` (or the pieces, each after the previous one's delay) and reads the whole answer. */
export function sendRaw(port: number, bytes: Buffer | string | Array<{ bytes: Buffer | string; afterMs?: number }>, options: RawRequestOptions = {}): Promise<RawAnswer> {
  const pieces = Array.isArray(bytes) ? bytes : [{ bytes }];
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const received: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const timers: NodeJS.Timeout[] = [];
    const timeout = setTimeout(() => socket.destroy(), options.timeoutMs ?? 15_000);
    socket.on('connect', () => {
      let at = 0;
      for (const piece of pieces) {
        at += piece.afterMs ?? 0;
        timers.push(setTimeout(() => {
          if (!socket.destroyed) socket.write(piece.bytes);
        }, at));
      }
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // A reset after the answer (the server closed while we were still sending) is not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timeout);
      for (const timer of timers) clearTimeout(timer);
      try {
        resolve({ ...parseAnswer(Buffer.concat(received)), elapsedMs: Date.now() - started });
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** A request's bytes: request line, Host (unless given), Connection: close, Content-Length for a body. */
export function requestBytes(method: string, target: string, headers: Array<[string, string]> = [], body?: Buffer | string): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (!headers.some(([name]) => name.toLowerCase() === 'host')) lines.push('Host: 127.0.0.1');
  lines.push('Connection: close');
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  const bodyBytes = body === undefined ? undefined : Buffer.from(body);
  if (bodyBytes !== undefined) lines.push(`Content-Length: ${bodyBytes.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return bodyBytes === undefined ? head : Buffer.concat([head, bodyBytes]);
}

function parseAnswer(bytes: Buffer): Omit<RawAnswer, 'elapsedMs'> {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return { status: 0, headers: {}, body: bytes };
  const [statusLine = '', ...headerLines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (match === null) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = bytes.subarray(headEnd + 4);
  const body = headers['transfer-encoding'] === 'chunked' ? unchunk(rest) : rest;
  return { status: Number(match[1]), headers, body };
}

/** A chunked body's data (as far as it arrived). */
function unchunk(bytes: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    pieces.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(pieces);
}
