import { describe, expect, it } from 'vitest';
import { decodeOpenRouterStream } from '../../src/adapters/openrouter/stream.js';
import { ReasoningDetailsMerger, reasoningDetailsOf } from '../../src/core/reasoning-details.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import { detailsFromToken, reasoningToken } from '../../src/frontends/reasoning-token.js';
import { reasoningStream, sseChunk, SSE_DONE, usageChunk } from '../fakes/fake-openrouter.js';
import { fromPieces } from '../helpers/chunking.js';

describe('ReasoningDetailsMerger', () => {
  it('merges consecutive text fragments of one index (texts appended, the first signature and format kept)', () => {
    const merger = new ReasoningDetailsMerger();
    expect(merger.add([{ type: 'reasoning.text', text: 'a', format: 'anthropic-claude-v1', index: 0 }])).toBeUndefined();
    expect(merger.add([{ type: 'reasoning.text', text: 'b', index: 0 }, { type: 'reasoning.text', signature: 'S', format: 'anthropic-claude-v1', index: 0 }])).toBeUndefined();
    expect(merger.take()).toEqual([{ type: 'reasoning.text', text: 'ab', format: 'anthropic-claude-v1', index: 0, signature: 'S' }]);
    expect(merger.take()).toBeUndefined();
  });

  it('gives back a detail as complete when a fragment of another one comes; encrypted ones stand alone', () => {
    const merger = new ReasoningDetailsMerger();
    merger.add([{ type: 'reasoning.summary', summary: 'x', index: 0 }]);
    expect(merger.add([{ type: 'reasoning.summary', summary: 'y', index: 0 }, { type: 'reasoning.encrypted', data: 'D', index: 1 }])).toEqual([{ type: 'reasoning.summary', summary: 'xy', index: 0 }]);
    expect(merger.add([{ type: 'reasoning.encrypted', data: 'E', index: 1 }])).toEqual([{ type: 'reasoning.encrypted', data: 'D', index: 1 }]);
    expect(merger.take()).toEqual([{ type: 'reasoning.encrypted', data: 'E', index: 1 }]);
  });

  it('skips what is no detail (not an object, no string type) and never changes the fragments it was given', () => {
    const merger = new ReasoningDetailsMerger();
    const fragment = { type: 'reasoning.text', text: 'a', index: 0 };
    merger.add([null, 'text', 7, [], { text: 'no type' }, fragment]);
    merger.add([{ type: 'reasoning.text', text: 'b', index: 0 }]);
    expect(merger.take()).toEqual([{ type: 'reasoning.text', text: 'ab', index: 0 }]);
    expect(fragment).toEqual({ type: 'reasoning.text', text: 'a', index: 0 });
  });
});

describe('the OpenRouter decoder\'s reasoning details', () => {
  async function events(sse: string): Promise<ChatEventBatch> {
    const all: ChatEventBatch = [];
    for await (const batch of decodeOpenRouterStream(fromPieces([Buffer.from(sse)]))) all.push(...batch);
    return all;
  }

  it('gives a detail completed by the next one before that one\'s text, and the rest before the answer', async () => {
    const sse = reasoningStream({
      reasoning: [
        { text: 'one', details: [{ type: 'reasoning.text', text: 'one', signature: 'S1', index: 0 }] },
        { text: 'two', details: [{ type: 'reasoning.text', text: 'two', index: 1 }] },
        { text: null, details: [{ type: 'reasoning.text', signature: 'S2', index: 1 }] },
      ],
      text: ['Hi'],
    });
    expect((await events(sse)).map((event) => (event.type === 'reasoning-details' ? event.details : event.type))).toEqual([
      'reasoning-delta',
      [{ type: 'reasoning.text', text: 'one', signature: 'S1', index: 0 }],
      'reasoning-delta',
      [{ type: 'reasoning.text', text: 'two', index: 1, signature: 'S2' }],
      'text-delta', 'finish',
    ]);
  });

  it('gives a signature that comes after the answer started at the end, before the finish', async () => {
    const sse = sseChunk({ role: 'assistant', content: '', reasoning: 'Hm', reasoning_details: [{ type: 'reasoning.text', text: 'Hm', index: 0 }] })
      + sseChunk({ role: 'assistant', content: 'A' })
      + sseChunk({ role: 'assistant', content: '', reasoning_details: [{ type: 'reasoning.text', signature: 'late', index: 0 }] })
      + sseChunk({ role: 'assistant', content: '' }, 'stop') + usageChunk(1, 2) + SSE_DONE;
    expect((await events(sse)).map((event) => (event.type === 'reasoning-details' ? event.details : event.type))).toEqual([
      'reasoning-delta', [{ type: 'reasoning.text', text: 'Hm', index: 0 }], 'text-delta',
      [{ type: 'reasoning.text', signature: 'late', index: 0 }], 'finish',
    ]);
  });

  it('sends no details event for the empty reasoning_details of every plain chunk', async () => {
    const sse = sseChunk({ role: 'assistant', content: 'Hi', reasoning: null, reasoning_details: [] }) + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE;
    expect((await events(sse)).map((event) => event.type)).toEqual(['text-delta', 'finish']);
  });
});

describe('reasoning tokens', () => {
  it('carry details exactly, and refuse anything else', () => {
    const details = [{ type: 'reasoning.encrypted', data: 'x+/=', id: 'rs_1', format: 'openai-responses-v1', index: 1, extra: { nested: [1, 'ü'] } }];
    expect(detailsFromToken(reasoningToken(details))).toEqual(details);
    for (const other of ['gAAAA-opaque', 'orbr1.', 'orbr1.!!!', `orbr1.${Buffer.from('{"type":"x"}').toString('base64url')}`, `orbr1.${Buffer.from('[1]').toString('base64url')}`, 42, undefined]) {
      expect(detailsFromToken(other), String(other)).toBeUndefined();
    }
  });

  it('reasoningDetailsOf takes only a non-empty list of objects with a string type', () => {
    expect(reasoningDetailsOf([{ type: 'reasoning.text' }])).toEqual([{ type: 'reasoning.text' }]);
    for (const value of [[], [{}], [{ type: 1 }], [[]], 'x', null, { type: 'x' }]) expect(reasoningDetailsOf(value)).toBeUndefined();
  });
});
