/**
 * The one ChatDecoder: a splitter cuts the bytes into frames (NDJSON lines, SSE data
 * payloads) and a dialect's handler turns each frame into events. The dialects differ only
 * in these two parts.
 */
import type { ChatEvent } from '../core/types.js';
import { GatewayError, fromMidStreamError } from '../errors.js';
import type { ChatDecoder } from './decode-stream.js';

/** Cuts bytes (any cut) into whole frames: `LineSplitter` for NDJSON, `SseDecoder` for SSE. */
export interface FrameSplitter {
  /** Every frame this chunk completes. */
  push(chunk: Uint8Array): string[];
  /** End of the body: the frames whose terminator never came. */
  flush(): string[];
}

/** A dialect's state for one answer. */
export interface FrameHandler {
  /** True once a terminal event (finish or error) has been pushed. */
  readonly ended: boolean;
  /** One frame; `unterminated` marks a frame flushed at the end of the body without its terminator. */
  handleFrame(frame: string, batch: ChatEvent[], unterminated: boolean): void;
  /** The body ended after the last frame. */
  end(batch: ChatEvent[]): void;
  fail(batch: ChatEvent[], error: GatewayError): void;
}

export class FramedDecoder implements ChatDecoder {
  constructor(
    private readonly frames: FrameSplitter,
    private readonly handler: FrameHandler,
    /** Names the upstream in the error of a body that broke off. */
    private readonly upstreamName: string,
  ) {}

  get ended(): boolean {
    return this.handler.ended;
  }

  push(chunk: Uint8Array, batch: ChatEvent[]): void {
    for (const frame of this.frames.push(chunk)) {
      this.handler.handleFrame(frame, batch, false);
      if (this.handler.ended) return;
    }
  }

  end(batch: ChatEvent[]): void {
    // The last frame may lack its terminator (a non-stream object, or a proxy that trims).
    for (const frame of this.frames.flush()) {
      this.handler.handleFrame(frame, batch, true);
      if (this.handler.ended) return;
    }
    this.handler.end(batch);
  }

  fail(error: unknown, batch: ChatEvent[]): void {
    this.handler.fail(batch, error instanceof GatewayError ? error : fromMidStreamError(this.upstreamName, error));
  }
}
