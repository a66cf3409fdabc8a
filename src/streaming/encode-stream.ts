/**
 * Writes a translated answer: the already-read first batch, then the rest, each encoded by the
 * dialect's encoder and written as it comes, in one loop (no generator between the upstream
 * read and the socket write). Whatever the upstream does, the stream ends with the dialect's
 * terminal output (final line / `[DONE]`) or its in-band error — never silently. A sink that
 * closes (the client went away) stops the loop, and the upstream iterator is returned, which
 * releases the upstream request.
 */
import type { ChatEventBatch } from '../core/types.js';
import { GatewayError } from '../errors.js';

export interface StreamEncoder {
  /** True once the terminal output or an error has been produced. */
  readonly ended: boolean;
  /** The output for one batch ('' when it carries nothing to send). */
  encode(batch: ChatEventBatch): string;
  /** The dialect's in-band error; ends the stream. */
  encodeError(error: GatewayError): string;
}

/** Where the encoded text goes: the client's response, or a test's buffer. */
export interface TextSink {
  /** The client went away: stop. */
  readonly closed: boolean;
  /** False when the sink wants the writer to wait for `drained()`. */
  write(text: string): boolean;
  drained(): Promise<void>;
  /** Writes the last text ('' for none) and ends, in one go. */
  end(text: string): void;
}

/** A dialect's keep-alive while the upstream is silent (Anthropic's `ping` event). */
export interface Heartbeat {
  text: string;
  /** Sent when a whole interval of this many ms passed with nothing written while waiting on the upstream. */
  everyMs: number;
}

export async function writeEncodedStream(sink: TextSink, first: ChatEventBatch, rest: AsyncIterator<ChatEventBatch>, encoder: StreamEncoder, heartbeat?: Heartbeat): Promise<void> {
  // One timer for the whole stream; per batch only two flags change.
  let waiting = false;
  let wrote = false;
  const timer = heartbeat === undefined ? undefined : setInterval(() => {
    if (waiting && !wrote && !sink.closed && !encoder.ended) sink.write(heartbeat.text);
    wrote = false;
  }, heartbeat.everyMs);
  try {
    let text = encoder.encode(first);
    for (;;) {
      if (sink.closed) break;
      if (encoder.ended) {
        sink.end(text);
        break;
      }
      if (text !== '') {
        wrote = true;
        if (!sink.write(text)) await sink.drained();
      }
      if (sink.closed) break;
      let next: IteratorResult<ChatEventBatch>;
      try {
        waiting = true;
        next = await rest.next();
        waiting = false;
      } catch (error) {
        waiting = false;
        text = encoder.encodeError(error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'the answer stream failed'));
        continue;
      }
      if (!next.done) text = encoder.encode(next.value);
      else if (sink.closed) break; // the client left, which stopped the stream: nothing to say
      else text = encoder.encodeError(new GatewayError('UPSTREAM_BAD_RESPONSE', 'the upstream ended the stream without finishing the answer'));
    }
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await rest.return?.();
  }
}
