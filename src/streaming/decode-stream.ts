/**
 * Drives a dialect's decoder over an upstream body: one ChatEvent batch per pull of the body
 * (one network read, or all the reads that piled up while the consumer was busy), skipping
 * reads that carry no event (keep-alive comments, a line cut in two). The batch holding the
 * terminal event (finish or error) is the last; a body that ends without one gets the
 * decoder's error. A client hang-up ends it quietly (`isAborted`), anything else that breaks
 * the body becomes an in-band error event.
 *
 * Until the first event, a large read is decoded in slices (about 1 KB, cut after a line feed)
 * and handed over at the first slice that yields one; the rest follows on the next pull. The
 * first token then leaves before the rest of a burst is decoded: about 0.2 ms sooner at the
 * client (bench/README.md). From the first event on, a read is decoded whole.
 *
 * A plain iterator rather than an async generator: it runs once per upstream read, so it
 * costs one promise per read and nothing more.
 */
import { joinPiece, type BodyPiece } from '../core/body-piece.js';
import type { ChatEvent, ChatEventBatch } from '../core/types.js';

/** A dialect's pure, synchronous stream decoder. */
export interface ChatDecoder {
  /** True once a terminal event (finish or error) has been pushed. */
  readonly ended: boolean;
  /** Decodes bytes (any cut) into `batch`, stopping at a terminal event. */
  push(chunk: Uint8Array, batch: ChatEvent[]): void;
  /** The body ended: decode what is left and finish, or fail an unfinished answer. */
  end(batch: ChatEvent[]): void;
  /** The body broke off with `error`: push the matching error event. */
  fail(error: unknown, batch: ChatEvent[]): void;
}

/** Adds a text or reasoning delta to a batch, merged into the last event when it is of the same kind. */
export function appendDelta(batch: ChatEvent[], type: 'text-delta' | 'reasoning-delta', text: string): void {
  const last = batch[batch.length - 1];
  if (last !== undefined && last.type === type) last.text += text;
  else batch.push({ type, text });
}

const DONE: IteratorResult<ChatEventBatch> = { done: true, value: undefined };

/** Before the first event, a read larger than this is decoded in slices of about this size. */
export const FIRST_EVENT_SLICE_BYTES = 1024;
const LINE_FEED = 0x0a;

export class DecodedStream implements AsyncIterableIterator<ChatEventBatch> {
  private readonly body: AsyncIterator<BodyPiece>;
  private finished = false;
  /** Whether an event has been decoded yet (see the module comment). */
  private started = false;
  /** The part of a read left undecoded after the stream's first event. */
  private unread: Uint8Array | undefined;

  constructor(
    body: AsyncIterable<BodyPiece>,
    private readonly decoder: ChatDecoder,
    private readonly isAborted: () => boolean = () => false,
    /** Told, once, whether the answer was read to its end (the connection can be reused) or abandoned. */
    private readonly release?: (completed: boolean) => void,
  ) {
    this.body = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChatEventBatch>> {
    if (this.finished) return DONE;
    const batch: ChatEvent[] = [];
    try {
      while (batch.length === 0) {
        const unread = this.unread;
        if (unread !== undefined) {
          this.unread = undefined;
          this.decoder.push(unread, batch);
        } else {
          const read = await this.body.next();
          if (read.done) {
            this.decoder.end(batch);
            this.finish(true);
            return { done: false, value: batch };
          }
          this.decode(read.value, batch);
        }
        if (this.decoder.ended) this.finish(true);
      }
      return { done: false, value: batch };
    } catch (error) {
      if (this.isAborted()) {
        this.finish(false);
        return DONE;
      }
      this.decoder.fail(error, batch);
      this.finish(false);
      return batch.length > 0 ? { done: false, value: batch } : DONE;
    }
  }

  /** The consumer stopped: an answer not read to its end is abandoned. */
  async return(): Promise<IteratorResult<ChatEventBatch>> {
    this.finish(false);
    return DONE;
  }

  private decode(piece: BodyPiece, batch: ChatEvent[]): void {
    const bytes = joinPiece(piece);
    if (this.started || bytes.length <= FIRST_EVENT_SLICE_BYTES) {
      this.decoder.push(bytes, batch);
      if (batch.length > 0) this.started = true;
      return;
    }
    let start = 0;
    while (start < bytes.length) {
      const lineEnd = bytes.indexOf(LINE_FEED, start + FIRST_EVENT_SLICE_BYTES - 1);
      const end = lineEnd === -1 ? bytes.length : lineEnd + 1;
      this.decoder.push(bytes.subarray(start, end), batch);
      start = end;
      if (batch.length > 0) {
        this.started = true;
        if (start < bytes.length && !this.decoder.ended) this.unread = bytes.subarray(start);
        return;
      }
    }
  }

  private finish(completed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.unread = undefined;
    this.release?.(completed);
  }
}
