import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeOpenRouterStream } from '../../src/adapters/openrouter/stream.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import { OpenRouterStreamChunk } from '../../schemas/openrouter.js';
import { byteAtATime, everyBoundary, fromPieces, seededCuts } from '../helpers/chunking.js';
import { normalizeEvents } from '../helpers/events.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/openrouter/${name}.sse`, import.meta.url));

async function decode(pieces: Buffer[]): Promise<unknown[]> {
  const batches: ChatEventBatch[] = [];
  for await (const batch of decodeOpenRouterStream(fromPieces(pieces))) batches.push(batch);
  return normalizeEvents(batches);
}

const expectations: Record<string, unknown[]> = {
  text: [
    { type: 'text-delta', text: 'Bonjour le monde — ça va ? 🌍✓' },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 9, outputTokens: 3, cachedTokens: 0, reasoningTokens: 0, cost: 0.0000036 } },
  ],
  'usage-shape-2': [{ type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop', usage: { inputTokens: 9, outputTokens: 3, cachedTokens: 0, reasoningTokens: 0, cost: 0.0000036 } }],
  'usage-shape-3': [{ type: 'text-delta', text: 'Hi there' }, { type: 'finish', reason: 'stop', usage: { inputTokens: 9, outputTokens: 3, cachedTokens: 0, reasoningTokens: 0, cost: 0.0000036 } }],
  'no-usage': [{ type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop' }],
  length: [{ type: 'text-delta', text: 'The answer is' }, { type: 'finish', reason: 'length', usage: { inputTokens: 5, outputTokens: 3 } }],
  // The text fragments and the signature of one index are one detail, complete when the answer starts.
  reasoning: [
    { type: 'reasoning-delta', text: 'Two plus two is four.' },
    { type: 'reasoning-details', details: [{ type: 'reasoning.text', text: 'Two plus two is four.', format: 'anthropic-claude-v1', index: 0, signature: 'EqQBCkYIBxgCKkBf' }] },
    { type: 'text-delta', text: '4' },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 14, outputTokens: 20, reasoningTokens: 12 } },
  ],
  // Summary fragments merged; the encrypted detail as it came (a new index completes the summary).
  'reasoning-encrypted': [
    { type: 'reasoning-delta', text: '**Checking the weather**' },
    { type: 'reasoning-details', details: [{ type: 'reasoning.summary', summary: '**Checking the weather**', format: 'openai-responses-v1', index: 0 }] },
    { type: 'reasoning-details', details: [{ type: 'reasoning.encrypted', data: 'gAAAAABpQ2x5ZW5jcnlwdGVkLXJlYXNvbmluZw+/=', id: 'rs_0f3c9a7d5e', format: 'openai-responses-v1', index: 1 }] },
    { type: 'tool-call', index: 0, call: { id: 'call_w1', name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 40, outputTokens: 64, reasoningTokens: 48, cost: 0.00069 } },
  ],
  'tool-call': [
    { type: 'tool-call', index: 0, call: { id: 'call_9fK2', name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 80, outputTokens: 15, cost: 0.00028 } },
  ],
  'parallel-tool-calls': [
    { type: 'tool-call', index: 0, call: { id: 'call_a1', name: 'get_weather', arguments: '{"city":"Oslo"}' } },
    { type: 'tool-call', index: 1, call: { id: 'call_b2', name: 'get_time', arguments: '{"zone":"CET"}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 50, outputTokens: 30 } },
  ],
  'tool-call-finish-stop': [
    { type: 'tool-call', index: 0, call: { id: 'call_x', name: 'list_files', arguments: '{}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 7, outputTokens: 4 } },
  ],
  'error-mid-stream': [
    { type: 'text-delta', text: 'partial answ' },
    { type: 'error', code: 'UPSTREAM_ERROR', status: 502, message: 'Provider disconnected unexpectedly' },
  ],
  'error-legacy': [{ type: 'error', code: 'UPSTREAM_ERROR', status: 429, message: 'Rate limit exceeded: free-models-per-day' }],
  truncated: [
    { type: 'text-delta', text: 'Once upon a time' },
    { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'OpenRouter ended the stream without finishing the answer' },
  ],
  crlf: [{ type: 'text-delta', text: 'Hello' }, { type: 'finish', reason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } }],
};

describe('decodeOpenRouterStream on recorded streams', () => {
  for (const [name, expected] of Object.entries(expectations)) {
    describe(name, () => {
      const bytes = fixture(name);

      it('every data line of the fixture is a valid OpenRouter chunk', () => {
        for (const line of bytes.toString('utf8').split(/\r?\n/)) {
          const data = line.startsWith('data:') ? line.slice(5).trim() : undefined;
          if (data === undefined || data === '[DONE]') continue;
          expect(OpenRouterStreamChunk.safeParse(JSON.parse(data)).success).toBe(true);
        }
      });

      it('decodes whole', async () => {
        expect(await decode([bytes])).toEqual(expected);
      });

      it('decodes the same at every chunk boundary', async () => {
        for (const pieces of everyBoundary(bytes)) expect(await decode(pieces)).toEqual(expected);
      });

      it('decodes the same one byte at a time and with random cuts', async () => {
        expect(await decode(byteAtATime(bytes))).toEqual(expected);
        for (const seed of [1, 2, 3, 42]) expect(await decode(seededCuts(bytes, seed))).toEqual(expected);
      });
    });
  }
});

describe('decodeOpenRouterStream on broken streams', () => {
  const unreadable = { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'OpenRouter sent an unreadable stream event' };
  const broken: Record<string, unknown[]> = {
    'malformed-mid-stream': [{ type: 'text-delta', text: 'Bonjour' }, unreadable],
    'malformed-before-start': [unreadable],
  };
  for (const [name, expected] of Object.entries(broken)) {
    it(`ends ${name}.sse with an error event, whole, at every boundary, byte by byte and with random cuts`, async () => {
      const bytes = fixture(name);
      for (const pieces of [[bytes], ...everyBoundary(bytes), byteAtATime(bytes), seededCuts(bytes, 1), seededCuts(bytes, 42)]) {
        expect(await decode(pieces)).toEqual(expected);
      }
    });
  }

  it('ends the answer at a payload that is JSON but not an object', async () => {
    for (const payload of ['42', 'null', '"text"', '[]', '[{"choices":[]}]', 'true']) {
      const stream = Buffer.from(`data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: ${payload}\n\ndata: {"choices":[{"delta":{"content":"y"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`);
      expect(await decode([stream]), payload).toEqual([{ type: 'text-delta', text: 'x' }, unreadable]);
    }
  });
});

describe('decodeOpenRouterStream rules', () => {
  it('yields one batch per network read, merging the text of that read', async () => {
    const read = Buffer.from('data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"delta":{"content":"b"}}]}\n\n');
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOpenRouterStream(fromPieces([read, Buffer.from('data: [DONE]\n\n')]))) batches.push(batch);
    expect(batches).toEqual([[{ type: 'text-delta', text: 'ab' }], [{ type: 'finish', reason: 'stop' }]]);
  });

  it('never lets a later null finish_reason overwrite the first one', async () => {
    const stream = Buffer.from(
      'data: {"choices":[{"delta":{"content":"x"},"finish_reason":"length"}]}\n\n' +
        'data: {"choices":[{"delta":{},"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n',
    );
    expect(await decode([stream])).toEqual([{ type: 'text-delta', text: 'x' }, { type: 'finish', reason: 'length', usage: { inputTokens: 1, outputTokens: 1 } }]);
  });

  it('tells who answers once, from the first chunk parsed: the model served and the generation id', async () => {
    const origins: unknown[] = [];
    const stream = decodeOpenRouterStream(fromPieces([fixture('text')]), () => false, undefined, (origin) => origins.push(origin));
    for await (const _batch of stream) void _batch;
    expect(origins).toEqual([{ modelServed: 'openai/gpt-4o', generationId: 'gen-1767225600-Xq3kP9aLmN2bR7tYc4Dz' }]);
  });

  it('maps a stop whose native reason is max_tokens to length', async () => {
    const stream = Buffer.from('data: {"choices":[{"delta":{"content":"x"},"finish_reason":"stop","native_finish_reason":"MAX_TOKENS"}]}\n\ndata: [DONE]\n\n');
    expect((await decode([stream])).at(-1)).toEqual({ type: 'finish', reason: 'length' });
  });

  it('reads reasoning_content as reasoning', async () => {
    const stream = Buffer.from('data: {"choices":[{"delta":{"reasoning_content":"hmm"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n');
    expect(await decode([stream])).toEqual([{ type: 'reasoning-delta', text: 'hmm' }, { type: 'finish', reason: 'stop' }]);
  });

  it('turns an unreadable event into an error event', async () => {
    const stream = Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: {not json\n\n');
    expect((await decode([stream])).at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_BAD_RESPONSE' });
  });

  it('turns a transport failure into an error event, keeping what came before', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\n');
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOpenRouterStream(failing())) batches.push(batch);
    expect(normalizeEvents(batches)).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'error', code: 'UPSTREAM_UNAVAILABLE', status: 502, message: 'OpenRouter broke off the answer midway: other side closed' },
    ]);
  });

  it('stops quietly when the client aborted', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('data: {"choices":[{"delta":{"content":"x"}}]}\n\n');
      throw Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' });
    }
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOpenRouterStream(failing(), () => true)) batches.push(batch);
    expect(normalizeEvents(batches)).toEqual([{ type: 'text-delta', text: 'x' }]);
  });

  it('assigns the next slot to a new id without an index, and the current slot to a continuation', async () => {
    const stream = Buffer.from(
      'data: {"choices":[{"delta":{"tool_calls":[{"id":"c1","function":{"name":"a","arguments":"{\\"x\\":"}}]}}]}\n\n' +
        'data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"1}"}}]}}]}\n\n' +
        'data: {"choices":[{"delta":{"tool_calls":[{"id":"c2","function":{"name":"b","arguments":"{}"}}]}}]}\n\n' +
        'data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n',
    );
    expect(await decode([stream])).toEqual([
      { type: 'tool-call', index: 0, call: { id: 'c1', name: 'a', arguments: '{"x":1}' } },
      { type: 'tool-call', index: 1, call: { id: 'c2', name: 'b', arguments: '{}' } },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });
});

describe('tool-call order', () => {
  it('emits calls in index order even when a later index starts first', async () => {
    const stream = Buffer.from(
      'data: {"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c_b","function":{"name":"b","arguments":"{}"}}]}}]}\n\n' +
        'data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c_a","function":{"name":"a","arguments":"{}"}}]}}]}\n\n' +
        'data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n',
    );
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOpenRouterStream(fromPieces([stream]))) batches.push(batch);
    expect(normalizeEvents(batches)).toEqual([
      { type: 'tool-call', index: 0, call: { id: 'c_a', name: 'a', arguments: '{}' } },
      { type: 'tool-call', index: 1, call: { id: 'c_b', name: 'b', arguments: '{}' } },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });
});
