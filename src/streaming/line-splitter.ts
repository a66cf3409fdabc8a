/**
 * Text lines out of a byte stream (NDJSON lines; SSE fields through SseDecoder): the
 * LineScanner cuts each read into whole lines, and each line is decoded once it is whole,
 * straight from the read (the first one after the start it had in earlier reads, if any).
 */
import { LineScanner, lineBounds } from './line-scanner.js';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  private readonly scanner: LineScanner;

  constructor(maxLineBytes?: number) {
    this.scanner = new LineScanner(maxLineBytes);
  }

  /** Returns every line completed by this chunk, without terminators. */
  push(chunk: Uint8Array): string[] {
    // The read itself: its lines end by `cut`, and no CR or LF follows them.
    const region = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const cut = this.scanner.push(region);
    const lines: string[] = [];
    if (cut === 0) return lines;
    let start = this.scanner.firstLineStart;
    if (region.indexOf(CARRIAGE_RETURN, start) === -1) {
      // LF-only framing, as OpenRouter and Ollama send it: one native search per line.
      let end = region.indexOf(LINE_FEED, start);
      if (this.scanner.holdsLineStart) {
        lines.push(this.scanner.joinHeld(region.subarray(start, end)).toString('utf8'));
        start = end + 1;
        end = region.indexOf(LINE_FEED, start);
      }
      while (end !== -1) {
        lines.push(region.toString('utf8', start, end));
        start = end + 1;
        end = region.indexOf(LINE_FEED, start);
      }
      return lines;
    }
    while (start < cut) {
      const { lineEnd, next } = lineBounds(region, start);
      lines.push(this.scanner.holdsLineStart ? this.scanner.joinHeld(region.subarray(start, lineEnd)).toString('utf8') : region.toString('utf8', start, lineEnd));
      start = next;
    }
    return lines;
  }

  /** The unterminated last line at end of stream, if any. */
  flush(): string[] {
    const tail = this.scanner.flush();
    return tail === undefined ? [] : [tail.toString('utf8')];
  }
}
