/**
 * The learned text-chunk shape (src/adapters/openrouter/text-chunk-shape.ts): a chunk takes
 * the short path only when the full parse would give exactly the same text and nothing else.
 */
import { describe, expect, it, vi } from 'vitest';
import { OpenAiChunkAccumulator } from '../../src/adapters/openrouter/stream.js';
import { TextChunkShape } from '../../src/adapters/openrouter/text-chunk-shape.js';
import type { ChatEvent } from '../../src/core/types.js';
import { normalizeEvents } from '../helpers/events.js';

const head = '{"id":"gen-1","provider":"P","model":"m","object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"role":"assistant","content":';
const tail = ',"reasoning":null,"reasoning_details":[]},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}';
/** A text chunk as OpenRouter writes it; `literal` is the JSON string as sent (escapes included). */
const textChunk = (literal: string): string => `${head}${literal}${tail}`;

function learned(): TextChunkShape {
  const shape = new TextChunkShape();
  shape.learn(textChunk('"Hello"'), 'Hello');
  return shape;
}

describe('TextChunkShape', () => {
  it('reads the text of a chunk that differs from the learned one only in its text', () => {
    const shape = learned();
    expect(shape.textOf(textChunk('" world, ça va? 🌍"'))).toBe(' world, ça va? 🌍');
    expect(shape.textOf(textChunk('""'))).toBe('');
  });

  it('leaves escaped or invalid text to the full parse', () => {
    const shape = learned();
    expect(shape.textOf(textChunk('"say \\"hi\\""'))).toBeUndefined();
    expect(shape.textOf(textChunk('"line\\nbreak"'))).toBeUndefined();
    expect(shape.textOf(textChunk('"\\u00e9"'))).toBeUndefined();
    // A raw control character is not JSON: the full parse must see it and fail.
    expect(shape.textOf(textChunk('"tab\there"'))).toBeUndefined();
  });

  it('leaves any other change to the full parse', () => {
    const shape = learned();
    expect(shape.textOf(textChunk('"x"').replace('"finish_reason":null', '"finish_reason":"stop"'))).toBeUndefined();
    expect(shape.textOf(textChunk('"x"').replace('gen-1', 'gen-2'))).toBeUndefined();
    expect(shape.textOf('[DONE]')).toBeUndefined();
  });

  it('does not learn from text written with escapes, or that occurs twice', () => {
    const escaped = new TextChunkShape();
    escaped.learn(textChunk('"a\\"b"'), 'a"b');
    expect(escaped.textOf(textChunk('"x"'))).toBeUndefined();
    const twice = new TextChunkShape();
    twice.learn(`{"note":{"content":"Hi"},"choices":[{"delta":{"content":"Hi"}}]}`, 'Hi');
    expect(twice.textOf(`{"note":{"content":"Hi"},"choices":[{"delta":{"content":"Yo"}}]}`)).toBeUndefined();
  });

  it('is not fooled by the same text in another field: the probe parse finds where delta.content is', () => {
    const shape = new TextChunkShape();
    // delta.content is "Hi" written with an escape; only the decoy has the plain bytes.
    shape.learn('{"note":{"content":"Hi"},"choices":[{"delta":{"content":"H\\u0069"}}]}', 'Hi');
    expect(shape.textOf('{"note":{"content":"Yo"},"choices":[{"delta":{"content":"H\\u0069"}}]}')).toBeUndefined();
  });
});

describe('OpenAiChunkAccumulator with the learned shape', () => {
  function run(datas: string[]): { events: unknown[]; parses: number } {
    const accumulator = new OpenAiChunkAccumulator('OpenRouter');
    const batch: ChatEvent[] = [];
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (const data of datas) accumulator.handleFrame(data, batch);
      accumulator.end(batch);
      return { events: normalizeEvents([batch]), parses: parse.mock.calls.length };
    } finally {
      parse.mockRestore();
    }
  }

  it('gives the events of the full parse while parsing only the chunks that need it', () => {
    const finish = '{"id":"gen-1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}';
    const texts = ['"Hel"', '"lo"', '" wor"', '"ld \\"quoted\\""', '"!"'];
    const { events, parses } = run([...texts.map(textChunk), finish, '[DONE]']);
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hello world "quoted"!' },
      { type: 'finish', reason: 'stop', usage: { inputTokens: 3, outputTokens: 4 } },
    ]);
    // Parsed: the first chunk (plus its probe), the escaped one, the finish chunk. Not: the other three.
    expect(parses).toBe(4);
  });

  it('never learns from a chunk that carries more than text', () => {
    const withReasoning = (text: string): string => textChunk(`"${text}"`).replace('"reasoning":null', '"reasoning":"hmm"');
    const withToolCall = (text: string): string => textChunk(`"${text}"`).replace('"reasoning_details":[]', '"reasoning_details":[],"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]');
    const withUsage = (text: string): string => textChunk(`"${text}"`).replace('"logprobs":null}]}', '"logprobs":null}],"usage":{"prompt_tokens":1,"completion_tokens":2}}');
    for (const variant of [withReasoning, withToolCall, withUsage]) {
      const datas = ['a', 'b', 'c'].map(variant);
      // Each chunk parsed in full: no probe, no short path.
      expect(run([...datas, '[DONE]']).parses).toBe(3);
    }
    expect(run(['a', 'b'].map(withReasoning)).events[0]).toEqual({ type: 'reasoning-delta', text: 'hmm' });
  });

  it('fails on a raw control character exactly as the full parse does', () => {
    const { events } = run([textChunk('"fine"'), textChunk('"bad\u0001"'), '[DONE]']);
    expect(events).toEqual([
      { type: 'text-delta', text: 'fine' },
      { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'OpenRouter sent an unreadable stream event' },
    ]);
  });
});
