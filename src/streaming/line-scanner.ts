/**
 * The one byte line scanner under every line-based reader of an upstream body: the NDJSON
 * and SSE decoders (through LineSplitter) and the /v1 relay. Each read is cut after its last
 * line terminator; what comes before is returned as one region of whole lines, bytes as they
 * arrived (never decoded, so a UTF-8 character cut across two reads cannot break), and the
 * rest is held for the next read. LF, CRLF and lone CR terminators (the SSE specification
 * allows all three) are accepted, including a CRLF cut between two reads.
 *
 * A line that spans reads is held as a list of pieces (each copied once, so the network
 * buffer can be released) and joined once, with the lines of the read that completes it:
 * only the new bytes of a read are searched, so a line arriving in many reads costs time
 * linear in its length.
 */
import { LineTooLongError } from '../errors.js';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const EMPTY = Buffer.alloc(0);

export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineScanner {
  private readonly pending: PendingLine;
  /** The last region ended in CR: a LF that opens the next read belongs to that terminator. */
  private endedInCarriageReturn = false;
  /**
   * Where the first line of the region `push` last returned starts: 1 when the region opens
   * with the LF of a CRLF cut between two reads (a terminator, not an empty line), else 0.
   */
  firstLineStart = 0;

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.pending = new PendingLine(maxLineBytes);
  }

  /**
   * The whole lines this read completes, terminators included, the held start of the first
   * one joined in front (one copy); empty when it completes none. Throws LineTooLongError
   * when the held line grows past the limit.
   */
  push(chunk: Uint8Array): Buffer {
    if (chunk.length === 0) return EMPTY;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const last = buffer.length - 1;
    this.firstLineStart = this.endedInCarriageReturn && buffer[0] === LINE_FEED ? 1 : 0;
    const cut = buffer[last] === LINE_FEED
      ? buffer.length
      : Math.max(buffer.lastIndexOf(LINE_FEED), buffer.lastIndexOf(CARRIAGE_RETURN)) + 1;
    this.endedInCarriageReturn = cut === buffer.length && buffer[last] === CARRIAGE_RETURN;
    if (cut === 0) {
      this.pending.add(buffer);
      return EMPTY;
    }
    let region = cut === buffer.length ? buffer : buffer.subarray(0, cut);
    if (!this.pending.empty) region = this.pending.take(region);
    if (cut < buffer.length) this.pending.add(buffer.subarray(cut));
    return region;
  }

  /** End of the body: the unterminated last line, if any. */
  flush(): Buffer | undefined {
    this.endedInCarriageReturn = false;
    return this.pending.empty ? undefined : this.pending.take();
  }
}

/**
 * Where the line starting at `start` in a region ends (its terminator), and where the next
 * one starts (past LF, CR or CRLF). A CR that ends the region gives `next` one past the
 * region's end: its LF, if one comes, opens the next read.
 */
export function lineBounds(region: Buffer, start: number): { lineEnd: number; next: number } {
  for (let index = start; index < region.length; index++) {
    const byte = region[index];
    if (byte === LINE_FEED) return { lineEnd: index, next: index + 1 };
    if (byte === CARRIAGE_RETURN) {
      if (index + 1 < region.length) return { lineEnd: index, next: region[index + 1] === LINE_FEED ? index + 2 : index + 1 };
      return { lineEnd: index, next: index + 2 };
    }
  }
  return { lineEnd: region.length, next: region.length };
}

/**
 * The unfinished start of a line, held across reads: a list of copied pieces and their total
 * length. Joining happens once, when the line completes.
 */
export class PendingLine {
  private pieces: Buffer[] = [];
  private length = 0;

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
