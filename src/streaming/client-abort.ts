import type { FastifyReply } from 'fastify';
import { GatewayError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The upstream calls of answers still being written (see OpenUpstreamCalls). */
    openUpstreamCalls: OpenUpstreamCalls;
  }
}

/**
 * Why an upstream call stops when its client hangs up. One instance for every hang-up: an
 * abort without a reason builds a DOMException, and closing a socket with an error formats
 * its stack, each time, which adds up when hundreds of clients go at once.
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
  const open = reply.server.openUpstreamCalls;
  const onHangUp = (): void => {
    if (!response.writableFinished) controller.abort(CLIENT_CLOSED);
  };
  socket?.once('end', onHangUp);
  open?.add(controller);
  response.once('close', () => {
    // A keep-alive socket serves later requests: this one no longer listens to it.
    socket?.off('end', onHangUp);
    open?.delete(controller);
    onHangUp();
  });
  return controller.signal;
}

/** Whether a call stopped because its client went away (not because the gateway stopped it): then there is no one to tell. */
export function clientLeft(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason === CLIENT_CLOSED;
}

export const SHUTTING_DOWN = new GatewayError('SHUTTING_DOWN', 'ollama-bridge is shutting down: the answer was cut short');

/**
 * The upstream calls whose answers are still being written. When the shutdown grace period
 * ends they are stopped with SHUTTING_DOWN, which every writer turns into the dialect's error
 * (a status before the first byte, an in-band error line after it), instead of a connection
 * cut mid-chunk.
 */
export class OpenUpstreamCalls {
  private readonly controllers = new Set<AbortController>();

  add(controller: AbortController): void {
    this.controllers.add(controller);
  }

  delete(controller: AbortController): void {
    this.controllers.delete(controller);
  }

  /** Stops every open call; returns how many there were. */
  stopAll(reason: GatewayError = SHUTTING_DOWN): number {
    const count = this.controllers.size;
    for (const controller of this.controllers) controller.abort(reason);
    this.controllers.clear();
    return count;
  }
}
