/**
 * Errors Node's HTTP parser raises before Fastify has a request (Fastify `clientErrorHandler`):
 * a request not received in time (408: `requestTimeout` / `headersTimeout`), headers too
 * large (431), bytes that are not HTTP (400). Answered in the dialect of the URL when one is
 * known (the request line in the bytes that failed, or the request in flight), Ollama's
 * otherwise; then the connection is closed, as Node does.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayError } from '../errors.js';
import { errorBodyForUrl } from './request-url.js';

/**
 * The answer in flight on a connection: Node's own field, which its default clientError
 * handling reads for the same purpose (unset once the answer is finished). Keeping our own
 * reference instead would cost every request, and hold the last request on idle connections.
 */
type NodeSocket = Socket & { _httpMessage?: ServerResponse | null };

/** Node's parser errors: a stable `code`, and for parse errors the bytes that failed. */
type ClientError = Error & { code?: string; rawPacket?: unknown };

export function answerClientError(error: ClientError, socket: Socket, log: FastifyBaseLogger): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = statusAndMessage(error.code);
  // The code only: the failed bytes may hold an Authorization header.
  log.debug({ code: error.code, status }, 'client error');
  const response = (socket as NodeSocket)._httpMessage ?? undefined;
  // Like Node: no bytes of our own in the middle of an answer already under way.
  if (socket.writable && response?.headersSent !== true) {
    const url = requestLineTarget(error.rawPacket) ?? response?.req.url ?? '/';
    const gatewayError = new GatewayError('BAD_REQUEST', message, { statusCode: status });
    const body = JSON.stringify(errorBodyForUrl(url)(gatewayError));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

function statusAndMessage(code: string | undefined): [number, string] {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'the request was not received in time'];
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'the request headers are too large'];
  return [400, 'malformed HTTP request'];
}

/** The target of the request line at the start of `bytes` (`POST /v1/chat HTTP/1.1`), if it is there. */
function requestLineTarget(bytes: unknown): string | undefined {
  if (!Buffer.isBuffer(bytes)) return undefined;
  // A request line is at most as long as Node's header limit (16 KB).
  const head = bytes.subarray(0, 16 * 1024).toString('latin1');
  return /^[A-Z]+ (\S+)/.exec(head)?.[1];
}
