/**
 * Which connection a streamed upstream request runs on, so that abandoning the request can
 * close that connection itself.
 *
 * Aborting through undici (`controller.abort`) closes the socket with an "informational"
 * error, after which undici's Client puts the aborted request back in its queue, opens a new
 * connection for it and only then drops it (nodejs/undici#5845, in undici 7.30 and 8.x): one
 * useless TCP and TLS handshake with the upstream per hang-up, and hundreds at once when
 * hundreds of clients leave together. Closing the socket with an error of our own makes
 * undici fail the request instead, and it opens nothing.
 *
 * undici writes a request to its socket in the same synchronous run in which it calls the
 * handler's `onRequestStart`, so the first write on any socket after a claim is the claimed
 * request's. The sockets come from `trackingConnector`, which is undici's own connector with
 * that one write noticed.
 */
import type { Socket } from 'node:net';
import { buildConnector } from 'undici';

let claimant: ((socket: Socket) => void) | undefined;

/** undici's connector (same options), whose sockets report the first write after a claim. */
export function trackingConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options);
  return (connectOptions, callback) => {
    connect(connectOptions, (error, socket) => {
      // A failed connect has no socket (undici passes undefined or null).
      if (socket) noticeWrites(socket);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- tsc needs them: the callback takes a union of argument tuples
      callback(error as null, socket as Socket);
    });
  };
}

function noticeWrites(socket: Socket): void {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the socket as `this`
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    const claim = claimant;
    if (claim !== undefined) {
      claimant = undefined;
      claim(socket);
    }
    return (write as (...writeArgs: Parameters<Socket['write']>) => boolean).apply(this, args);
  } as Socket['write'];
}

/**
 * From a dispatch handler's `onRequestStart`: `onSocket` receives the socket the request is
 * about to be written to. A request undici does not write at once (a streamed body) claims
 * nothing: the claim lapses at the end of the current run.
 */
export function claimRequestSocket(onSocket: (socket: Socket) => void): void {
  claimant = onSocket;
  queueMicrotask(() => {
    if (claimant === onSocket) claimant = undefined;
  });
}
