/**
 * Splits a byte stream into text lines without ever decoding a partial line, so a UTF-8
 * character cut across two network reads cannot break. Accepts LF, CRLF and lone CR
 * terminators (the SSE spec allows all three), including a CRLF cut between two reads.
 *
 * Only the unfinished tail of a read is kept (and copied once per read), so a line that
 * spans many reads costs linear time, not quadratic.
 */
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineTooLongError extends Error {
  constructor(limit: number) {
    super(`an upstream line exceeded ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

export class LineSplitter {
  private tail: Buffer | undefined;
  /** The previous read ended in CR: a LF at the start of the next read belongs to it. */
  private skipLeadingLineFeed = false;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /** Returns every line completed by this chunk, without terminators. */
  push(chunk: Uint8Array): string[] {
    let buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (this.skipLeadingLineFeed) {
      this.skipLeadingLineFeed = false;
      if (buffer.length > 0 && buffer[0] === LINE_FEED) start = 1;
    }
    if (this.tail !== undefined) {
      buffer = Buffer.concat([this.tail, buffer.subarray(start)]);
      start = 0;
      this.tail = undefined;
    }
    const lines: string[] = [];
    const hasCarriageReturn = buffer.indexOf(CARRIAGE_RETURN, start) !== -1;
    let end = start;
    if (!hasCarriageReturn) {
      // Fast path: LF-only framing, as OpenRouter and Ollama send it.
      while ((end = buffer.indexOf(LINE_FEED, start)) !== -1) {
        lines.push(buffer.toString('utf8', start, end));
        start = end + 1;
      }
    } else {
      for (end = start; end < buffer.length; end++) {
        const byte = buffer[end];
        if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN) continue;
        lines.push(buffer.toString('utf8', start, end));
        if (byte === CARRIAGE_RETURN) {
          if (end + 1 < buffer.length) {
            if (buffer[end + 1] === LINE_FEED) end++;
          } else {
            this.skipLeadingLineFeed = true;
          }
        }
        start = end + 1;
      }
    }
    if (start < buffer.length) {
      if (buffer.length - start > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
      // Copy so the (possibly large) network buffer can be released.
      this.tail = Buffer.from(buffer.subarray(start));
    }
    return lines;
  }

  /** The unterminated last line at end of stream, if any. */
  flush(): string[] {
    const tail = this.tail;
    this.tail = undefined;
    this.skipLeadingLineFeed = false;
    return tail === undefined || tail.length === 0 ? [] : [tail.toString('utf8')];
  }
}
