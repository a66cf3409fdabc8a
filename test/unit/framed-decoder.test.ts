import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';
import { FramedDecoder, type FrameHandler } from '../../src/streaming/framed-decoder.js';
import { LineSplitter } from '../../src/streaming/line-splitter.js';
import { SseDecoder } from '../../src/streaming/sse-decoder.js';

/** Records the frames it is given; the frame `stop` is terminal. */
class RecordingHandler implements FrameHandler {
  readonly frames: Array<[string, boolean]> = [];
  readonly failures: GatewayError[] = [];
  ended = false;
  endCalls = 0;

  handleFrame(frame: string, batch: ChatEvent[], unterminated: boolean): void {
    this.frames.push([frame, unterminated]);
    if (frame === 'stop') {
      this.ended = true;
      batch.push({ type: 'finish', reason: 'stop' });
    }
  }

  end(): void {
    this.endCalls++;
  }

  fail(_batch: ChatEvent[], error: GatewayError): void {
    this.failures.push(error);
  }
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('FramedDecoder', () => {
  it('hands NDJSON lines to the handler, and marks only the line flushed at the end as unterminated', () => {
    const handler = new RecordingHandler();
    const decoder = new FramedDecoder(new LineSplitter(), handler, 'Upstream');
    decoder.push(bytes('one\ntw'), []);
    decoder.push(bytes('o\nthree'), []);
    decoder.end([]);
    expect(handler.frames).toEqual([['one', false], ['two', false], ['three', true]]);
    expect(handler.endCalls).toBe(1);
  });

  it('hands SSE data payloads to the handler, the same way', () => {
    const handler = new RecordingHandler();
    const decoder = new FramedDecoder(new SseDecoder(), handler, 'Upstream');
    decoder.push(bytes(': keep-alive\n\ndata: one\n\ndata: tw'), []);
    decoder.push(bytes('o'), []);
    decoder.end([]);
    expect(handler.frames).toEqual([['one', false], ['two', true]]);
  });

  it('stops at the terminal event: later frames in the same read are not handled', () => {
    const handler = new RecordingHandler();
    const decoder = new FramedDecoder(new LineSplitter(), handler, 'Upstream');
    const batch: ChatEvent[] = [];
    decoder.push(bytes('one\nstop\nafter\n'), batch);
    expect(decoder.ended).toBe(true);
    expect(batch).toEqual([{ type: 'finish', reason: 'stop' }]);
    expect(handler.frames).toEqual([['one', false], ['stop', false]]);
  });

  it('turns a broken body into a GatewayError naming the upstream, and passes a GatewayError on as it is', () => {
    const handler = new RecordingHandler();
    const decoder = new FramedDecoder(new LineSplitter(), handler, 'Upstream');
    decoder.fail(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), []);
    const own = new GatewayError('UPSTREAM_BAD_RESPONSE', 'already classified');
    decoder.fail(own, []);
    expect(handler.failures[0]).toBeInstanceOf(GatewayError);
    expect(handler.failures[0]!.message).toContain('Upstream');
    expect(handler.failures[1]).toBe(own);
  });
});
