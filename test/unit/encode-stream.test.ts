/**
 * The stream writer (writeEncodedStream): how an answer ends whatever the upstream does, and
 * how it stops when the client goes away.
 */
import { describe, expect, it } from 'vitest';
import type { ChatEventBatch } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';
import { OllamaStreamEncoder, StreamTiming } from '../../src/frontends/ollama/encode.js';
import { writeEncodedStream, type TextSink } from '../../src/streaming/encode-stream.js';
import { encodePieces } from '../helpers/encoding.js';

const encoder = (): OllamaStreamEncoder => new OllamaStreamEncoder('m', 'chat', new StreamTiming());

/** An upstream iterator over `batches` that then throws `error`, recording whether it was returned. */
function failingRest(batches: ChatEventBatch[], error: unknown): AsyncIterator<ChatEventBatch> & { returned: boolean } {
  let index = 0;
  return {
    returned: false,
    async next() {
      if (index < batches.length) return { done: false, value: batches[index++]! };
      throw error;
    },
    async return() {
      this.returned = true;
      return { done: true, value: undefined };
    },
  };
}

describe('writeEncodedStream', () => {
  it('ends a broken-off answer with the upstream error in-band, and returns the source', async () => {
    const rest = failingRest([[{ type: 'text-delta', text: 'b' }]], new GatewayError('UPSTREAM_UNAVAILABLE', 'OpenRouter broke off the answer midway'));
    const pieces = await encodePieces([[{ type: 'text-delta', text: 'a' }]], encoder(), rest);
    const lines = pieces.join('').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.message?.content ?? line.error)).toEqual(['a', 'b', 'OpenRouter broke off the answer midway']);
    expect(rest.returned).toBe(true);
  });

  it('does not leak the text of an unexpected failure', async () => {
    const pieces = await encodePieces([[{ type: 'text-delta', text: 'a' }]], encoder(), failingRest([], new TypeError('secret internals')));
    expect(JSON.parse(pieces.at(-1)!)).toEqual({ error: 'the answer stream failed' });
  });

  it('waits for the sink to drain, stops pulling once it closes, and returns the source', async () => {
    let pulls = 0;
    let returned = false;
    const rest: AsyncIterator<ChatEventBatch> = {
      async next() {
        pulls++;
        return { done: false, value: [{ type: 'text-delta', text: `piece ${pulls}` }] };
      },
      async return() {
        returned = true;
        return { done: true, value: undefined };
      },
    };
    const written: string[] = [];
    let closed = false;
    let drains = 0;
    let ended = false;
    const sink: TextSink = {
      get closed() {
        return closed;
      },
      // Full after every write: the writer must wait for each drain.
      write: (text) => {
        written.push(text);
        return false;
      },
      drained: async () => {
        drains++;
        // The client goes away during the third wait.
        if (drains === 3) closed = true;
      },
      end: () => {
        ended = true;
      },
    };
    await writeEncodedStream(sink, [{ type: 'text-delta', text: 'first' }], rest, encoder());
    expect(written).toHaveLength(3);
    expect(drains).toBe(3);
    expect(pulls).toBe(2);
    expect(returned).toBe(true);
    expect(ended).toBe(false);
  });

  it('writes nothing more once the client is gone, not even the in-band error', async () => {
    const written: string[] = [];
    let closed = false;
    const rest: AsyncIterator<ChatEventBatch> = {
      async next() {
        // The client hangs up while the upstream is silent; the upstream request is aborted.
        closed = true;
        throw new GatewayError('CLIENT_CLOSED', 'the client closed the connection');
      },
    };
    const sink: TextSink = {
      get closed() {
        return closed;
      },
      write: (text) => {
        if (closed) throw new Error('write after close');
        written.push(text);
        return true;
      },
      drained: async () => undefined,
      end: () => {
        throw new Error('end after close');
      },
    };
    await writeEncodedStream(sink, [{ type: 'text-delta', text: 'first' }], rest, encoder());
    expect(written).toHaveLength(1);
  });
});

describe('writeEncodedStream heartbeat', () => {
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

  it('writes the heartbeat while the upstream is silent, between batches only, and never after the end', async () => {
    const pieces: string[] = [];
    let ended = false;
    async function* rest(): AsyncGenerator<ChatEventBatch> {
      await sleep(300);
      yield [{ type: 'text-delta', text: 'b' }];
      yield [{ type: 'finish', reason: 'stop' }];
    }
    await writeEncodedStream(
      {
        closed: false,
        write: (text) => {
          if (ended) throw new Error('written after end');
          pieces.push(text);
          return true;
        },
        drained: async () => undefined,
        end: (text) => {
          pieces.push(text);
          ended = true;
        },
      },
      [{ type: 'text-delta', text: 'a' }],
      rest(),
      encoder(),
      { text: 'PING\n', everyMs: 40 },
    );
    const texts = pieces.map((piece) => (piece === 'PING\n' ? 'PING' : JSON.parse(piece.split('\n')[0]!).message.content));
    expect(texts[0]).toBe('a');
    const pings = texts.filter((text) => text === 'PING').length;
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(texts.slice(1, 1 + pings)).toEqual(Array(pings).fill('PING'));
    expect(texts.slice(1 + pings)).toEqual(['b', '']);
    await sleep(120);
    expect(pieces.filter((piece) => piece === 'PING\n')).toHaveLength(pings);
  });
});
