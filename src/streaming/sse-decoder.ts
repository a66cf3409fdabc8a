/**
 * A push parser for Server-Sent Events over bytes. It returns the `data` payload of every
 * event completed by a chunk. Comments (`: OPENROUTER PROCESSING`) never reach the caller;
 * `data:` with or without the space, multi-line data (joined with LF), CRLF and split
 * frames are handled as the SSE specification says. `event`, `id` and `retry` fields are
 * not used by the chat APIs and are ignored.
 */
import { LineSplitter } from './line-splitter.js';

export class SseDecoder {
  private readonly lines: LineSplitter;
  private data: string | undefined;

  constructor(maxLineBytes?: number) {
    this.lines = new LineSplitter(maxLineBytes);
  }

  push(chunk: Uint8Array): string[] {
    return this.takeEvents(this.lines.push(chunk));
  }

  /** End of stream: an event whose terminating blank line never came is still delivered. */
  flush(): string[] {
    const events = this.takeEvents(this.lines.flush());
    if (this.data !== undefined) {
      events.push(this.data);
      this.data = undefined;
    }
    return events;
  }

  private takeEvents(lines: string[]): string[] {
    const events: string[] = [];
    for (const line of lines) {
      if (line.length === 0) {
        if (this.data !== undefined) {
          events.push(this.data);
          this.data = undefined;
        }
        continue;
      }
      if (line.charCodeAt(0) === 0x3a /* ':' comment */) continue;
      if (line.startsWith('data:')) {
        const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
        this.data = this.data === undefined ? value : `${this.data}\n${value}`;
      }
      // Other fields (event, id, retry) and lines without a colon carry nothing we use.
    }
    return events;
  }
}
