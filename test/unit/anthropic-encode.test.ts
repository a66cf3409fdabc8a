import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeOllamaStream } from '../../src/adapters/ollama/stream.js';
import { decodeOpenRouterStream } from '../../src/adapters/openrouter/stream.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';
import { AnthropicStreamEncoder, messageObject, toAnthropicUsage } from '../../src/frontends/anthropic/encode.js';
import { detailsFromBlock } from '../../src/frontends/anthropic/thinking.js';
import { detailsFromToken } from '../../src/frontends/reasoning-token.js';
import { byteAtATime, everyBoundary, fromPieces, seededCuts } from '../helpers/chunking.js';

const META = { id: 'msg_test', model: 'coder', estimatedInputTokens: 7 };

/** `event:`/`data:` frames → [event name, parsed data]; every frame's name must be its data's type. */
function frames(text: string): Array<[string, any]> {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((frame) => {
    const match = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const data = JSON.parse(match![2]!);
    expect(data.type).toBe(match![1]);
    return [match![1]!, data];
  });
}

function encodeAll(batches: ChatEventBatch[]): string {
  const encoder = new AnthropicStreamEncoder(META);
  let text = '';
  for (const batch of batches) text += encoder.encode(batch);
  return text;
}

async function encodeRecorded(pieces: Buffer[]): Promise<string> {
  const batches: ChatEventBatch[] = [];
  for await (const batch of decodeOpenRouterStream(fromPieces(pieces))) batches.push(batch);
  return encodeAll(batches);
}

/** The answer the frames add up to, whatever the cut: block kinds and their text, stop reason, usage. */
function summary(text: string): unknown {
  const blocks: Array<{ type: string; text: string; signature?: string; data?: string }> = [];
  let end: unknown;
  for (const [name, data] of frames(text)) {
    if (name === 'content_block_start') {
      blocks[data.index] = { type: data.content_block.type, text: '' };
      if (data.content_block.type === 'redacted_thinking') blocks[data.index]!.data = data.content_block.data;
    }
    if (name === 'content_block_delta' && data.delta.type === 'signature_delta') blocks[data.index]!.signature = data.delta.signature;
    else if (name === 'content_block_delta') blocks[data.index]!.text += data.delta.text ?? data.delta.thinking ?? data.delta.partial_json;
    if (name === 'message_delta') end = data;
    if (name === 'error') end = data;
  }
  return { blocks, end };
}

describe('AnthropicStreamEncoder', () => {
  it('writes message_start and ping first, each block started, filled and stopped, then message_delta and message_stop', () => {
    const text = encodeAll([
      [{ type: 'reasoning-delta', text: 'Let me ' }, { type: 'reasoning-delta', text: 'think.' }],
      [{ type: 'text-delta', text: 'Calling "it"' }],
      [{ type: 'tool-call', index: 0, call: { id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      [{ type: 'finish', reason: 'tool-calls', usage: { inputTokens: 30, outputTokens: 9, cachedTokens: 20 } }],
    ]);
    const events = frames(text);
    expect(events.map(([name]) => name)).toEqual([
      'message_start', 'ping',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    expect(events[0]![1].message).toEqual({
      id: 'msg_test', type: 'message', role: 'assistant', model: 'coder', content: [], stop_reason: null, stop_sequence: null,
      usage: { input_tokens: 7, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    expect(events[2]![1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } });
    expect(events[3]![1].delta).toEqual({ type: 'thinking_delta', thinking: 'Let me ' });
    expect(events[6]![1]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } });
    expect(events[7]![1].delta).toEqual({ type: 'text_delta', text: 'Calling "it"' });
    expect(events[9]![1]).toEqual({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } });
    expect(events[10]![1]).toEqual({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } });
    expect(events[11]![1]).toEqual({ type: 'content_block_stop', index: 2 });
    // Anthropic's input_tokens leave out the cached ones (OpenAI's prompt count includes them).
    expect(events[12]![1]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 10, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 20 },
    });
  });

  it('maps finish reasons: stop → end_turn, length → max_tokens, content filter → refusal', () => {
    for (const [reason, expected] of [['stop', 'end_turn'], ['length', 'max_tokens'], ['content-filter', 'refusal'], ['other', 'end_turn']] as const) {
      const events = frames(encodeAll([[{ type: 'text-delta', text: 'x' }, { type: 'finish', reason }]]));
      expect(events.at(-2)![1].delta.stop_reason).toBe(expected);
    }
  });

  it('ends with one error event after the first byte, never message_stop', () => {
    const encoder = new AnthropicStreamEncoder(META);
    const text = encoder.encode([{ type: 'text-delta', text: 'partial' }]) + encoder.encode([{ type: 'error', error: new GatewayError('UPSTREAM_TIMEOUT', 'went silent') }]);
    const events = frames(text);
    expect(events.at(-1)).toEqual(['error', { type: 'error', error: { type: 'timeout_error', message: 'went silent' } }]);
    expect(events.some(([name]) => name === 'message_stop')).toBe(false);
    expect(encoder.ended).toBe(true);
    expect(encoder.encode([{ type: 'text-delta', text: 'more' }])).toBe('');
  });

  it('gives the same answer for a recorded OpenRouter stream cut at every chunk boundary', async () => {
    for (const name of ['reasoning', 'reasoning-encrypted', 'tool-call', 'parallel-tool-calls', 'text', 'error-mid-stream']) {
      const bytes = readFileSync(new URL(`../fixtures/openrouter/${name}.sse`, import.meta.url));
      const expected = summary(await encodeRecorded([bytes]));
      for (const pieces of everyBoundary(bytes)) expect(summary(await encodeRecorded(pieces)), `${name} cut at ${pieces[0]!.length}`).toEqual(expected);
    }
    const reasoning = readFileSync(new URL('../fixtures/openrouter/reasoning.sse', import.meta.url));
    expect(summary(await encodeRecorded([reasoning]))).toEqual({
      blocks: [{ type: 'thinking', text: 'Two plus two is four.', signature: 'EqQBCkYIBxgCKkBf' }, { type: 'text', text: '4' }],
      end: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 14, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } },
    });
  }, 60_000);
});

describe('AnthropicStreamEncoder with reasoning details', () => {
  const signed = { type: 'reasoning.text', text: 'Hmm.', signature: 'EqQBsig', format: 'anthropic-claude-v1', index: 0 };

  it('ends the thinking block with its signature_delta; the next thinking is a block of its own', () => {
    const events = frames(encodeAll([
      [{ type: 'reasoning-delta', text: 'Hmm.' }, { type: 'reasoning-details', details: [signed] }],
      [{ type: 'reasoning-delta', text: 'More.' }, { type: 'reasoning-details', details: [{ ...signed, text: 'More.', signature: 'Second', index: 1 }] }, { type: 'text-delta', text: 'Done' }],
      [{ type: 'finish', reason: 'stop' }],
    ]));
    expect(events.filter(([name]) => name.startsWith('content_block')).map(([name, data]) => [name, data.index, data.delta ?? data.content_block])).toEqual([
      ['content_block_start', 0, { type: 'thinking', thinking: '', signature: '' }],
      ['content_block_delta', 0, { type: 'thinking_delta', thinking: 'Hmm.' }],
      ['content_block_delta', 0, { type: 'signature_delta', signature: 'EqQBsig' }],
      ['content_block_stop', 0, undefined],
      ['content_block_start', 1, { type: 'thinking', thinking: '', signature: '' }],
      ['content_block_delta', 1, { type: 'thinking_delta', thinking: 'More.' }],
      ['content_block_delta', 1, { type: 'signature_delta', signature: 'Second' }],
      ['content_block_stop', 1, undefined],
      ['content_block_start', 2, { type: 'text', text: '' }],
      ['content_block_delta', 2, { type: 'text_delta', text: 'Done' }],
      ['content_block_stop', 2, undefined],
    ]);
  });

  it('gives encrypted reasoning as a redacted_thinking block: Anthropic\'s data as sent, another format whole in a token', () => {
    const claude = { type: 'reasoning.encrypted', data: 'EmwKAhgBEgy', format: 'anthropic-claude-v1', index: 1 };
    const gemini = { type: 'reasoning.encrypted', data: 'CiQB0e2Kb', id: 'tool_0', format: 'google-gemini-v1', index: 0 };
    const blocks = frames(encodeAll([[{ type: 'reasoning-details', details: [claude, gemini] }, { type: 'finish', reason: 'stop' }]]))
      .filter(([name]) => name === 'content_block_start').map(([, data]) => data.content_block);
    expect(blocks[0]).toEqual({ type: 'redacted_thinking', data: 'EmwKAhgBEgy' });
    expect(blocks[1].type).toBe('redacted_thinking');
    expect(detailsFromToken(blocks[1].data)).toEqual([gemini]);
  });

  it('gives a signature that came after the answer started a thinking block of its own', () => {
    const events = frames(encodeAll([
      [{ type: 'reasoning-delta', text: 'Hmm.' }, { type: 'text-delta', text: 'Hi' }],
      [{ type: 'reasoning-details', details: [{ ...signed, text: undefined }] }, { type: 'finish', reason: 'stop' }],
    ]));
    const starts = events.filter(([name]) => name === 'content_block_start').map(([, data]) => data.content_block.type);
    expect(starts).toEqual(['thinking', 'text', 'thinking']);
    const late = events.find(([, data]) => data.delta?.type === 'signature_delta')![1];
    expect(late).toMatchObject({ index: 2 });
    // The late block has no text: its signature carries the text it signs, so that sent back
    // (the first block unsigned, dropped; this one) the upstream gets the text with its signature.
    expect(detailsFromToken(late.delta.signature)).toEqual([{ ...signed, text: 'Hmm.' }]);
    const sentBack = detailsFromBlock({ type: 'thinking', thinking: '', signature: late.delta.signature }, 0);
    expect(sentBack).toEqual([{ ...signed, text: 'Hmm.' }]);
    expect(detailsFromBlock({ type: 'thinking', thinking: 'Hmm.', signature: '' }, 0)).toEqual([]);
  });
});

describe('messageObject', () => {
  it('gives each signed thinking detail a thinking block with its signature, encrypted ones redacted_thinking', () => {
    const message = messageObject({
      text: 'Hi', reasoning: 'Hmm.', toolCalls: [], finishReason: 'stop',
      reasoningDetails: [
        { type: 'reasoning.text', text: 'Hmm.', signature: 'EqQBsig', format: 'anthropic-claude-v1', index: 0 },
        { type: 'reasoning.encrypted', data: 'EmwK', format: 'anthropic-claude-v1', index: 1 },
      ],
    }, META);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Hmm.', signature: 'EqQBsig' },
      { type: 'redacted_thinking', data: 'EmwK' },
      { type: 'text', text: 'Hi' },
    ]);
  });

  it('orders thinking, text, tool_use (input as an object) and maps the stop reason and usage', () => {
    const message = messageObject({
      text: 'Checking.',
      reasoning: 'Need weather.',
      toolCalls: [{ id: 'toolu_9', name: 'get_weather', arguments: '{"city":"Oslo"}' }, { id: 'toolu_10', name: 'broken', arguments: 'not json' }],
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 4 },
    }, META);
    expect(message).toEqual({
      id: 'msg_test', type: 'message', role: 'assistant', model: 'coder',
      content: [
        { type: 'thinking', thinking: 'Need weather.', signature: '' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Oslo' } },
        { type: 'tool_use', id: 'toolu_10', name: 'broken', input: {} },
      ],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('reports zero usage when the upstream reported none', () => {
    expect(toAnthropicUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });
});

describe('AnthropicStreamEncoder over an upstream Ollama', () => {
  async function encodeOllama(pieces: Buffer[]): Promise<string> {
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOllamaStream(fromPieces(pieces))) batches.push(batch);
    return encodeAll(batches);
  }

  it('gives the same answer for each recorded Ollama stream cut at every chunk boundary, one byte at a time and at random', async () => {
    for (const name of ['thinking', 'tool-calls-a', 'tool-calls-b', 'parallel-tool-calls', 'text', 'length', 'error-mid-stream', 'truncated']) {
      const bytes = readFileSync(new URL(`../fixtures/ollama/${name}.ndjson`, import.meta.url));
      const expected = summary(await encodeOllama([bytes]));
      for (const pieces of everyBoundary(bytes)) expect(summary(await encodeOllama(pieces)), `${name} cut at ${pieces[0]!.length}`).toEqual(expected);
      expect(summary(await encodeOllama(byteAtATime(bytes))), `${name} byte at a time`).toEqual(expected);
      for (const seed of [1, 7, 42]) expect(summary(await encodeOllama(seededCuts(bytes, seed, 13))), `${name} seed ${seed}`).toEqual(expected);
    }
    const thinking = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/thinking.ndjson', import.meta.url))])) as any;
    expect(thinking.blocks).toEqual([{ type: 'thinking', text: 'Okay, the user asks for 2+2. That is four.' }, { type: 'text', text: '2 + 2 = 4.' }]);
    expect(thinking.end.delta.stop_reason).toBe('end_turn');
    const tools = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/tool-calls-b.ndjson', import.meta.url))])) as any;
    expect(tools.blocks.map((block: any) => block.type)).toEqual(['thinking', 'text', 'tool_use', 'tool_use']);
    expect(tools.blocks[2].text).toBe('{"city":"Oslo","unit":"celsius"}');
    expect(tools.end.delta.stop_reason).toBe('tool_use');
    const broken = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/error-mid-stream.ndjson', import.meta.url))])) as any;
    expect(broken.end.type).toBe('error');
  }, 60_000);
});
