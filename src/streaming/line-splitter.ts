/**
 * Splits a byte stream into text lines without ever decoding a partial line, so a UTF-8
 * character cut across two network reads cannot break. Accepts LF, CRLF and lone CR
 * terminators (the SSE spec allows all three), including a CRLF cut between two reads.
 *
 * A line that spans reads is kept as a list of pieces (each copied once, so the network
 * buffer can be released) and joined once when its terminator arrives; only the new bytes
 * of a read are searched. So a line arriving in many reads costs time linear in its length.
 */
import { LineTooLongError } from '../errors.js';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

/**
 * The unfinished start of a line, held across reads: a list of copied pieces and their total
 * length. Joining happens once, when the line completes.
 */
export class PendingLine {
  private pieces: Buffer[] = [];
  length = 0;

  constructor(private readonly maxLineBytes: number) {}

  get empty(): boolean {
    return this.length === 0;
  }

  /** Keeps a copy of `bytes` (the unterminated part of a read); throws past the line limit. */
  add(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.length + bytes.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    this.pieces.push(Buffer.from(bytes));
    this.length += bytes.length;
  }

  /** The held bytes followed by `rest`, as one buffer (one copy); the list is emptied. */
  take(rest?: Buffer): Buffer {
    const pieces = this.pieces;
    const length = this.length;
    this.pieces = [];
    this.length = 0;
    if (rest === undefined || rest.length === 0) return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length);
    pieces.push(rest);
    return Buffer.concat(pieces, length + rest.length);
  }
}

export class LineSplitter {
  private readonly pending: PendingLine;
  /** The previous read ended in CR: a LF at the start of the next read belongs to it. */
  private skipLeadingLineFeed = false;

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.pending = new PendingLine(maxLineBytes);
  }

  /** Returns every line completed by this chunk, without terminators. */
  push(chunk: Uint8Array): string[] {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (this.skipLeadingLineFeed) {
      this.skipLeadingLineFeed = false;
      if (buffer.length > 0 && buffer[0] === LINE_FEED) start = 1;
    }
    const lines: string[] = [];
    const hasCarriageReturn = buffer.indexOf(CARRIAGE_RETURN, start) !== -1;
    let end: number;
    if (!hasCarriageReturn) {
      // Fast path: LF-only framing, as OpenRouter and Ollama send it.
      while ((end = buffer.indexOf(LINE_FEED, start)) !== -1) {
        lines.push(this.lineOf(buffer, start, end));
        start = end + 1;
      }
    } else {
      for (end = start; end < buffer.length; end++) {
        const byte = buffer[end];
        if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN) continue;
        lines.push(this.lineOf(buffer, start, end));
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
    if (start < buffer.length) this.pending.add(buffer.subarray(start));
    return lines;
  }

  /** The unterminated last line at end of stream, if any. */
  flush(): string[] {
    this.skipLeadingLineFeed = false;
    return this.pending.empty ? [] : [this.pending.take().toString('utf8')];
  }

  /** The line ending at `end` in `buffer`, completing the held start of a line if there is one. */
  private lineOf(buffer: Buffer, start: number, end: number): string {
    if (this.pending.empty) return buffer.toString('utf8', start, end);
    return this.pending.take(buffer.subarray(start, end)).toString('utf8');
  }
}
