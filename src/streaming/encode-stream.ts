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

export async function writeEncodedStream(sink: TextSink, first: ChatEventBatch, rest: AsyncIterator<ChatEventBatch>, encoder: StreamEncoder): Promise<void> {
  try {
    let text = encoder.encode(first);
    for (;;) {
      if (sink.closed) break;
      if (encoder.ended) {
        sink.end(text);
        break;
      }
      if (text !== '' && !sink.write(text)) await sink.drained();
      if (sink.closed) break;
      let next: IteratorResult<ChatEventBatch>;
      try {
        next = await rest.next();
      } catch (error) {
        text = encoder.encodeError(error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'the answer stream failed'));
        continue;
      }
      if (!next.done) text = encoder.encode(next.value);
      else if (sink.closed) break; // the client left, which stopped the stream: nothing to say
      else text = encoder.encodeError(new GatewayError('UPSTREAM_BAD_RESPONSE', 'the upstream ended the stream without finishing the answer'));
    }
  } finally {
    await rest.return?.();
  }
}
