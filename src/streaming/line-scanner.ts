/**
 * The one byte line scanner under every line-based reader of an upstream body: the NDJSON
 * and SSE decoders (through LineSplitter) and the /v1 relay. Each read is cut after its last
 * line terminator: what comes before is its whole lines, read in place as they arrived
 * (never decoded here, so a UTF-8 character cut across two reads cannot break), and the rest
 * is held for the next read. LF, CRLF and lone CR terminators (the SSE specification allows
 * all three) are accepted, including a CRLF cut between two reads.
 *
 * A line that spans reads is held as a list of pieces (each copied once, so the network
 * buffer can be released) and joined once, by `joinHeld`, with the end of it the next read
 * brings: only the new bytes of a read are searched, so a line arriving in many reads costs
 * time linear in its length. The reader decides what to join it with (the line's end alone,
 * or all the read's lines), so no read is copied for nothing.
 */
import { LineTooLongError } from '../errors.js';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export const DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024;

export class LineScanner {
  /** The unterminated end of the reads so far: copied pieces and their total length. */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** The start of the first line of the read `push` last scanned, from earlier reads: for `joinHeld`. */
  private held: Buffer[] | undefined;
  private heldLength = 0;
  /** The last read ended in CR: a LF that opens the next read belongs to that terminator. */
  private endedInCarriageReturn = false;
  /**
   * Where the first line of the read `push` last scanned starts: 1 when it opens with the LF
   * of a CRLF cut between two reads (a terminator, not an empty line), else 0.
   */
  firstLineStart = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  /**
   * Scans one read: returns where its whole lines end (just past the last terminator; 0 when
   * it completes none), and holds the rest. The first of those lines may have begun in
   * earlier reads (`holdsLineStart`). No byte of the read is copied but the rest held.
   * Throws LineTooLongError when a held line grows past the limit.
   */
  push(buffer: Buffer): number {
    this.held = undefined;
    if (buffer.length === 0) return 0;
    const last = buffer.length - 1;
    this.firstLineStart = this.endedInCarriageReturn && buffer[0] === LINE_FEED ? 1 : 0;
    const cut = buffer[last] === LINE_FEED ? buffer.length : endOfLastLine(buffer);
    this.endedInCarriageReturn = cut === buffer.length && buffer[last] === CARRIAGE_RETURN;
    if (cut === 0) {
      this.hold(buffer);
      return 0;
    }
    if (this.pendingLength > 0) {
      this.held = this.pending;
      this.heldLength = this.pendingLength;
      this.pending = [];
      this.pendingLength = 0;
    }
    if (cut < buffer.length) this.hold(buffer.subarray(cut));
    return cut;
  }

  /** Whether the first line of the read `push` last scanned began in earlier reads (`joinHeld` puts its start in front). */
  get holdsLineStart(): boolean {
    return this.held !== undefined;
  }

  /** The held start of that line followed by `rest`, as one buffer (one copy). Once per push. */
  joinHeld(rest: Buffer): Buffer {
    const pieces = this.held;
    if (pieces === undefined) return rest;
    this.held = undefined;
    if (rest.length === 0 && pieces.length === 1) return pieces[0]!;
    pieces.push(rest);
    return Buffer.concat(pieces, this.heldLength + rest.length);
  }

  /** End of the body: the unterminated last line, if any. */
  flush(): Buffer | undefined {
    this.endedInCarriageReturn = false;
    this.held = undefined;
    if (this.pendingLength === 0) return undefined;
    const pieces = this.pending;
    const length = this.pendingLength;
    this.pending = [];
    this.pendingLength = 0;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, length);
  }

  /** Keeps a copy of `bytes` (the unterminated end of a read); throws past the line limit. */
  private hold(bytes: Buffer): void {
    if (this.pendingLength + bytes.length > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes);
    this.pending.push(Buffer.from(bytes));
    this.pendingLength += bytes.length;
  }
}

/** Just past the last terminator of a read that does not end in LF; 0 if it has none. Only the bytes after its last LF are searched for a CR. */
function endOfLastLine(buffer: Buffer): number {
  const lastLineFeed = buffer.lastIndexOf(LINE_FEED);
  let lastCarriageReturn = -1;
  for (let found = buffer.indexOf(CARRIAGE_RETURN, lastLineFeed + 1); found !== -1; found = buffer.indexOf(CARRIAGE_RETURN, found + 1)) lastCarriageReturn = found;
  return Math.max(lastLineFeed, lastCarriageReturn) + 1;
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
