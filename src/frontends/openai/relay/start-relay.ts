/**
 * The streamed /v1 relay between the upstream's body and the reply: the SseRelay fed one
 * network read at a time, what it forwards handed on as a byte stream.
 */
import type { ForwardedResponse } from '../../../core/backend-adapter.js';
import { joinPiece, type BodyPiece } from '../../../core/body-piece.js';
import { GatewayError, fromMidStreamError } from '../../../errors.js';
import { countSseEvents } from '../../../usage/request-usage.js';
import type { RelayMeter } from './relay-meter.js';
import { SseRelay, type SseRelayOptions } from './sse-relay.js';

/**
 * Reads the stream until the answer has started, so that a failure before the first data
 * event (an error event, an empty stream, a refused connection) is thrown as a GatewayError
 * and answered with a status. Resolves with the byte stream to send, which yields what was
 * held back first and then one Buffer per network read.
 */
export async function startSseRelay(answer: ForwardedResponse, isAborted: () => boolean, options: SseRelayOptions = {}): Promise<AsyncGenerator<Buffer>> {
  const { body, upstream } = answer;
  const relay = new SseRelay(answer, options);
  const iterator = body[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  try {
    while (!relay.started && !relay.ended) {
      let next: IteratorResult<BodyPiece>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw isAborted() ? new GatewayError('CLIENT_CLOSED', 'the client closed the connection') : fromMidStreamError(upstream, error);
      }
      const output = next.done ? relay.end() : relay.push(joinPiece(next.value));
      if (output.length > 0) held.push(output);
      if (next.done) break;
    }
    if (relay.errorBeforeStart !== undefined) throw relay.errorBeforeStart;
  } catch (error) {
    body.release(false);
    throw error instanceof GatewayError ? error : fromMidStreamError(upstream, error);
  }
  return relayRest(held.length === 1 ? held[0]! : Buffer.concat(held), iterator, relay, answer, isAborted, options.meter);
}

async function* relayRest(
  head: Buffer,
  iterator: AsyncIterator<BodyPiece>,
  relay: SseRelay,
  answer: ForwardedResponse,
  isAborted: () => boolean,
  meter?: RelayMeter,
): AsyncGenerator<Buffer> {
  const onRelayed = meter?.addOutputPieces === undefined ? undefined : (output: Buffer): void => meter.addOutputPieces!(countSseEvents(output));
  try {
    meter?.answerStarted?.();
    if (head.length > 0) {
      onRelayed?.(head);
      yield head;
    }
    while (!relay.ended) {
      let output: Buffer;
      try {
        const next = await iterator.next();
        output = next.done ? relay.end() : relay.push(joinPiece(next.value));
      } catch (error) {
        if (isAborted()) return;
        const failure = fromMidStreamError(answer.upstream, error);
        yield relay.fail(failure);
        return;
      }
      if (output.length > 0) {
        onRelayed?.(output);
        yield output;
      }
    }
  } finally {
    answer.body.release(relay.sawDone);
  }
}
