/**
 * Writes the pieces of one streamed response, each handed to the socket at once.
 *
 * The first piece goes through `response.write`, which sends the status line and headers
 * with it and settles the framing: chunked for HTTP/1.1, none for HTTP/1.0 (which then ends
 * at close). From the second piece on, a chunked response is framed here
 * (`<size in hex>\r\n<bytes>\r\n`, RFC 9112 §7.1) and written to the socket in one call,
 * where Node's own chunked write makes four buffered writes and a write request per piece
 * (bench/README.md has the figures). `end` goes through `response.end`: the last piece, the
 * terminating zero-size chunk, and the response's own bookkeeping (keep-alive, `finish`).
 *
 * Writing behind `ServerResponse` leans on Node internals (`chunkedEncoding`, the response
 * holding no bytes of its own once its first write returns), so it is used only once
 * `directFramingWorks()` (chunk-framing-check.ts) has checked them on this Node over a
 * loopback connection; until then, and if the check fails, every piece goes through
 * `response.write`.
 *
 * Each piece leaves at once: a plain `response.write` leaves it corked until the next tick,
 * which would hold the first token back while the rest of its read is decoded.
 */
import type { ServerResponse } from 'node:http';

const CRLF = '\r\n';

/** Whether pieces after the first may be framed here: off until the check says so. */
let directFraming = false;

/** Sets the default of every ChunkWriter made from now on (chunk-framing-check.ts). */
export function useDirectFraming(enabled: boolean): void {
  directFraming = enabled;
}

export class ChunkWriter {
  private headersWritten = false;

  constructor(
    private readonly response: ServerResponse,
    private readonly direct = directFraming,
  ) {}

  /** False when the socket's buffer is full: wait for `drained()` before the next piece. */
  write(piece: string | Uint8Array): boolean {
    const { response } = this;
    const socket = response.socket;
    if (!this.direct || !this.headersWritten || !response.chunkedEncoding || socket === null) {
      this.headersWritten = true;
      response.cork();
      const writable = response.write(piece);
      response.uncork();
      return writable;
    }
    if (typeof piece === 'string') {
      // An empty chunk would read as the end of the body.
      if (piece.length === 0) return true;
      return socket.write(`${Buffer.byteLength(piece).toString(16)}${CRLF}${piece}${CRLF}`);
    }
    if (piece.byteLength === 0) return true;
    socket.cork();
    socket.write(`${piece.byteLength.toString(16)}${CRLF}`, 'latin1');
    socket.write(piece);
    const writable = socket.write(CRLF, 'latin1');
    socket.uncork();
    return writable;
  }

  /** Resolves when the socket has taken what was written, or the client has gone. */
  drained(): Promise<void> {
    const { response } = this;
    const socket = response.socket;
    // The socket's own buffer decides, whichever way the piece went: Node 22's response.write
    // can say wait while its socket has room, and then no 'drain' ever comes.
    if (response.destroyed || (socket !== null && !socket.writableNeedDrain)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        socket?.off('drain', done);
        response.off('drain', done);
        response.off('close', done);
        resolve();
      };
      if (socket !== null) socket.on('drain', done);
      else response.on('drain', done);
      response.on('close', done);
    });
  }

  /** Writes the last piece ('' for none) and ends the response. */
  end(piece: string | Uint8Array = ''): void {
    this.response.end(piece);
  }
}
