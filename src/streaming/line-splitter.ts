/**
 * Text lines out of a byte stream (NDJSON lines; SSE fields through SseDecoder): the
 * LineScanner cuts each read into whole lines, and each line is decoded once it is whole
 * (straight from the read, but for a line that began in an earlier one).
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
    const region = this.scanner.push(chunk);
    const lines: string[] = [];
    let start = this.scanner.firstLineStart;
    if (region.indexOf(CARRIAGE_RETURN, start) === -1) {
      // LF-only framing, as OpenRouter and Ollama send it: one native search per line.
      let end: number;
      while ((end = region.indexOf(LINE_FEED, start)) !== -1) {
        lines.push(this.lineOf(region, start, end));
        start = end + 1;
      }
      return lines;
    }
    while (start < region.length) {
      const { lineEnd, next } = lineBounds(region, start);
      lines.push(this.lineOf(region, start, lineEnd));
      start = next;
    }
    return lines;
  }

  /** The line `region[start, end)`, after the start it had in earlier reads if it is the first one and began there. */
  private lineOf(region: Buffer, start: number, end: number): string {
    if (!this.scanner.holdsLineStart) return region.toString('utf8', start, end);
    return this.scanner.joinHeld(region.subarray(start, end)).toString('utf8');
  }

  /** The unterminated last line at end of stream, if any. */
  flush(): string[] {
    const tail = this.scanner.flush();
    return tail === undefined ? [] : [tail.toString('utf8')];
  }
}
