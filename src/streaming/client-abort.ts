import type { FastifyReply } from 'fastify';
import { GatewayError } from '../errors.js';

/**
 * Why an upstream call stops when its client hangs up. One instance for every hang-up: an
 * abort without a reason builds a DOMException, and closing a socket with an error formats
 * its stack, each time (tens of µs apiece, which add up when hundreds of clients go at once).
 */
export const CLIENT_CLOSED = new GatewayError('CLIENT_CLOSED', 'the client closed the connection');

/**
 * An AbortSignal that fires when the client hangs up before the response is complete.
 * It listens to the response socket's `close`, not `request.signal`, which on a POST
 * fires as soon as the request body has been read; and to the socket's `end`, the client's
 * FIN, which comes first: Node's server then ends the socket, and `close` follows only once
 * the writes in flight have failed or drained.
 */
export function abortOnClientClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const socket = reply.request.raw.socket;
  const onHangUp = (): void => {
    if (!response.writableFinished) controller.abort(CLIENT_CLOSED);
  };
  socket?.once('end', onHangUp);
  response.once('close', () => {
    // A keep-alive socket serves later requests: this one no longer listens to it.
    socket?.off('end', onHangUp);
    onHangUp();
  });
  return controller.signal;
}
