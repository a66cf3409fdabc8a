/**
 * Drives a dialect's stream encoder: the already-read first batch, then the rest, one output
 * string per batch. Whatever the upstream does, the stream ends with the dialect's terminal
 * output (final line / `[DONE]`) or its in-band error — never silently. Leaving early (the
 * client went away) returns the upstream iterator, which releases the upstream request.
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

export async function* encodeStream(first: ChatEventBatch, rest: AsyncIterator<ChatEventBatch>, encoder: StreamEncoder): AsyncGenerator<string> {
  try {
    const head = encoder.encode(first);
    if (head !== '') yield head;
    while (!encoder.ended) {
      let next: IteratorResult<ChatEventBatch>;
      try {
        next = await rest.next();
      } catch (error) {
        yield encoder.encodeError(error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'the answer stream failed'));
        return;
      }
      if (next.done) break;
      const text = encoder.encode(next.value);
      if (text !== '') yield text;
    }
    if (!encoder.ended) yield encoder.encodeError(new GatewayError('UPSTREAM_BAD_RESPONSE', 'the upstream ended the stream without finishing the answer'));
  } finally {
    await rest.return?.();
  }
}
