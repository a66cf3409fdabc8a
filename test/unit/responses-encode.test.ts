import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeOllamaStream } from '../../src/adapters/ollama/stream.js';
import { decodeOpenRouterStream } from '../../src/adapters/openrouter/stream.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';
import { ResponsesStreamEncoder, responseFromResult, toResponsesUsage, type ResponseMeta } from '../../src/frontends/responses/encode.js';
import { detailsFromToken } from '../../src/frontends/reasoning-token.js';
import { byteAtATime, everyBoundary, fromPieces, seededCuts } from '../helpers/chunking.js';
import { responsesEvents } from '../helpers/sse.js';

const META: ResponseMeta = { id: 'resp_test', createdAt: 1767225600, echo: { model: 'coder' } };


function encodeAll(batches: ChatEventBatch[]): string {
  const encoder = new ResponsesStreamEncoder(META);
  let text = '';
  for (const batch of batches) text += encoder.encode(batch);
  return text;
}

async function encodeRecorded(pieces: Buffer[]): Promise<string> {
  const batches: ChatEventBatch[] = [];
  for await (const batch of decodeOpenRouterStream(fromPieces(pieces))) batches.push(batch);
  return encodeAll(batches);
}

/** What the events add up to, whatever the cut: event types with consecutive deltas merged, each item's deltas joined, the last event without item ids. */
function summary(text: string): unknown {
  const types: string[] = [];
  const deltas = new Map<number, string>();
  const all = responsesEvents(text);
  for (const event of all) {
    if (event.type.endsWith('.delta')) deltas.set(event.output_index, (deltas.get(event.output_index) ?? '') + event.delta);
    if (types.at(-1) !== event.type || !event.type.endsWith('.delta')) types.push(event.type);
  }
  // How many deltas came before the last event depends on the cut: its sequence number too.
  const { sequence_number: _sequence, ...lastEvent } = all.at(-1);
  const last = JSON.parse(JSON.stringify(lastEvent, (key, value) => (key === 'id' && typeof value === 'string' && value !== 'resp_test' ? '<id>' : value)));
  return { types, deltas: [...deltas.values()], last };
}

describe('ResponsesStreamEncoder', () => {
  it('opens with created and in_progress, gives each item added, its parts and deltas, done, then completed with the output and usage', () => {
    const all = responsesEvents(encodeAll([
      [{ type: 'reasoning-delta', text: 'Let me ' }, { type: 'reasoning-delta', text: 'think.' }],
      [{ type: 'text-delta', text: 'Calling "it"' }],
      [{ type: 'tool-call', index: 0, call: { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      [{ type: 'finish', reason: 'tool-calls', usage: { inputTokens: 30, outputTokens: 9, cachedTokens: 20, reasoningTokens: 4 } }],
    ]));
    expect(all.map((event) => event.type)).toEqual([
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta', 'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
      'response.output_item.added', 'response.function_call_arguments.delta', 'response.function_call_arguments.done', 'response.output_item.done',
      'response.completed',
    ]);
    expect(all[0].response).toMatchObject({ id: 'resp_test', object: 'response', status: 'in_progress', output: [], usage: null, model: 'coder' });
    const [reasoningId, messageId, callId] = [all[2].item.id, all[9].item.id, all[15].item.id];
    expect(all[4]).toEqual({ type: 'response.reasoning_summary_text.delta', sequence_number: 4, item_id: reasoningId, output_index: 0, summary_index: 0, delta: 'Let me ' });
    expect(all[6]).toMatchObject({ item_id: reasoningId, text: 'Let me think.' });
    expect(all[11]).toEqual({ type: 'response.output_text.delta', sequence_number: 11, item_id: messageId, output_index: 1, content_index: 0, delta: 'Calling "it"', logprobs: [] });
    expect(all[16]).toMatchObject({ item_id: callId, output_index: 2, delta: '{"city":"Paris"}' });
    expect(all[17]).toMatchObject({ item_id: callId, output_index: 2, name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(all[19].response).toMatchObject({
      status: 'completed',
      output: [
        { id: reasoningId, type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }] },
        { id: messageId, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Calling "it"', annotations: [] }] },
        { id: callId, type: 'function_call', status: 'completed', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      ],
      usage: { input_tokens: 30, input_tokens_details: { cached_tokens: 20 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 4 }, total_tokens: 39 },
    });
  });

  it('a length or filter finish is response.incomplete with its reason', () => {
    for (const [reason, expected] of [['length', 'max_output_tokens'], ['content-filter', 'content_filter']] as const) {
      const last = responsesEvents(encodeAll([[{ type: 'text-delta', text: 'x' }, { type: 'finish', reason }]])).at(-1);
      expect(last.type).toBe('response.incomplete');
      expect(last.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: expected } });
    }
  });

  it('ends with response.failed after the first byte, the items so far kept; nothing after', () => {
    const encoder = new ResponsesStreamEncoder(META);
    const text = encoder.encode([{ type: 'text-delta', text: 'partial' }]) + encoder.encode([{ type: 'error', error: new GatewayError('UPSTREAM_TIMEOUT', 'went silent') }]);
    const last = responsesEvents(text).at(-1);
    expect(last.type).toBe('response.failed');
    expect(last.response).toMatchObject({ status: 'failed', error: { code: 'upstream_timeout', message: 'went silent' }, usage: null });
    expect(encoder.ended).toBe(true);
    expect(encoder.encode([{ type: 'text-delta', text: 'more' }])).toBe('');
  });

  it('gives the same events for a recorded OpenRouter stream cut at every chunk boundary', async () => {
    for (const name of ['reasoning', 'tool-call', 'parallel-tool-calls', 'text', 'error-mid-stream']) {
      const bytes = readFileSync(new URL(`../fixtures/openrouter/${name}.sse`, import.meta.url));
      const expected = summary(await encodeRecorded([bytes]));
      for (const pieces of everyBoundary(bytes)) expect(summary(await encodeRecorded(pieces)), `${name} cut at ${pieces[0]!.length}`).toEqual(expected);
    }
    const reasoning = summary(await encodeRecorded([readFileSync(new URL('../fixtures/openrouter/reasoning.sse', import.meta.url))])) as any;
    expect(reasoning.deltas).toEqual(['Two plus two is four.', '4']);
    expect(reasoning.last.response.usage).toEqual({ input_tokens: 14, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: expect.any(Number) }, total_tokens: 34 });
    const toolCall = summary(await encodeRecorded([readFileSync(new URL('../fixtures/openrouter/tool-call.sse', import.meta.url))])) as any;
    expect(toolCall.last.response.output).toEqual([{ id: '<id>', type: 'function_call', status: 'completed', call_id: 'call_9fK2', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  }, 60_000);
});

describe('responseFromResult', () => {
  it('orders reasoning, message, function calls and maps the status and usage', () => {
    const response = responseFromResult({
      text: 'Checking.', reasoning: 'Need weather.', finishReason: 'tool-calls', usage: { inputTokens: 5, outputTokens: 3 },
      toolCalls: [{ id: 'call_9', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
    }, META);
    expect(response).toMatchObject({
      id: 'resp_test', object: 'response', created_at: 1767225600, status: 'completed', model: 'coder', error: null, incomplete_details: null,
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Need weather.' }] },
        { type: 'message', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_9', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      ],
      usage: toResponsesUsage({ inputTokens: 5, outputTokens: 3 }),
    });
  });
});

describe('ResponsesStreamEncoder: encrypted reasoning and custom tool calls', () => {
  const WITH_ENCRYPTED: ResponseMeta = { ...META, encryptedReasoning: true, tools: new Map([['apply_patch', { name: 'apply_patch', custom: true }]]) };
  const encodeWith = (meta: ResponseMeta, batches: ChatEventBatch[]): any[] => {
    const encoder = new ResponsesStreamEncoder(meta);
    return responsesEvents(batches.map((batch) => encoder.encode(batch)).join(''));
  };
  const encrypted = { type: 'reasoning.encrypted', data: 'gAAAAB+/=', id: 'rs_1', format: 'openai-responses-v1', index: 1 };

  it('puts the reasoning details in the reasoning item\'s encrypted_content when asked, and only then', () => {
    const batches: ChatEventBatch[] = [
      [{ type: 'reasoning-delta', text: 'Plan.' }, { type: 'reasoning-details', details: [encrypted] }],
      [{ type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop' }],
    ];
    const asked = encodeWith(WITH_ENCRYPTED, batches);
    const item = asked.find((event) => event.type === 'response.output_item.done' && event.item.type === 'reasoning').item;
    expect(item.summary).toEqual([{ type: 'summary_text', text: 'Plan.' }]);
    expect(detailsFromToken(item.encrypted_content)).toEqual([encrypted]);
    expect(asked.at(-1).response.output[0]).toEqual(item);
    const notAsked = encodeWith(META, batches);
    expect(notAsked.find((event) => event.type === 'response.output_item.done').item).not.toHaveProperty('encrypted_content');
  });

  it('gives reasoning that is only encrypted a reasoning item without a summary part', () => {
    const all = encodeWith(WITH_ENCRYPTED, [[{ type: 'reasoning-details', details: [encrypted] }, { type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop' }]]);
    expect(all.map((event) => event.type).slice(2, 4)).toEqual(['response.output_item.added', 'response.output_item.done']);
    expect(all[3].item).toMatchObject({ type: 'reasoning', summary: [] });
  });

  it('answers a custom tool\'s call as a custom_tool_call item with its input string', () => {
    const call = { id: 'call_p', name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n*** End Patch' }) };
    const all = encodeWith(WITH_ENCRYPTED, [[{ type: 'tool-call', index: 0, call }, { type: 'finish', reason: 'tool-calls' }]]);
    expect(all.map((event) => event.type).slice(2)).toEqual([
      'response.output_item.added', 'response.custom_tool_call_input.delta', 'response.custom_tool_call_input.done', 'response.output_item.done', 'response.completed',
    ]);
    expect(all[2].item).toMatchObject({ type: 'custom_tool_call', status: 'in_progress', call_id: 'call_p', name: 'apply_patch', input: '' });
    expect(all[3]).toMatchObject({ delta: '*** Begin Patch\n*** End Patch' });
    expect(all[4]).toMatchObject({ input: '*** Begin Patch\n*** End Patch' });
    expect(all.at(-1).response.output).toEqual([{ id: all[2].item.id, type: 'custom_tool_call', status: 'completed', call_id: 'call_p', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' }]);
  });

  it('gives the same events, encrypted content included, for the encrypted-reasoning stream cut at every chunk boundary', async () => {
    const bytes = readFileSync(new URL('../fixtures/openrouter/reasoning-encrypted.sse', import.meta.url));
    const encode = async (pieces: Buffer[]): Promise<unknown> => {
      const encoder = new ResponsesStreamEncoder(WITH_ENCRYPTED);
      let text = '';
      for await (const batch of decodeOpenRouterStream(fromPieces(pieces))) text += encoder.encode(batch);
      return summary(text);
    };
    const expected = await encode([bytes]) as any;
    expect(detailsFromToken(expected.last.response.output[0].encrypted_content)).toEqual([
      { type: 'reasoning.summary', summary: '**Checking the weather**', format: 'openai-responses-v1', index: 0 },
      { type: 'reasoning.encrypted', data: 'gAAAAABpQ2x5ZW5jcnlwdGVkLXJlYXNvbmluZw+/=', id: 'rs_0f3c9a7d5e', format: 'openai-responses-v1', index: 1 },
    ]);
    for (const pieces of everyBoundary(bytes)) expect(await encode(pieces), `cut at ${pieces[0]!.length}`).toEqual(expected);
  });
});

describe('responseFromResult: encrypted reasoning and custom tool calls', () => {
  it('gives the details as encrypted_content when asked, and custom tools\' calls as custom_tool_call items', () => {
    const details = [{ type: 'reasoning.encrypted', data: 'x', format: 'openai-responses-v1', index: 0 }];
    const response = responseFromResult({
      text: '', reasoning: '', reasoningDetails: details, finishReason: 'tool-calls',
      toolCalls: [{ id: 'call_p', name: 'apply_patch', arguments: '{"input":"diff"}' }, { id: 'call_f', name: 'f', arguments: '{}' }],
    }, { ...META, encryptedReasoning: true, tools: new Map([['apply_patch', { name: 'apply_patch', custom: true }]]) }) as any;
    expect(response.output.map((item: any) => item.type)).toEqual(['reasoning', 'custom_tool_call', 'function_call']);
    expect(detailsFromToken(response.output[0].encrypted_content)).toEqual(details);
    expect(response.output[1]).toMatchObject({ call_id: 'call_p', input: 'diff' });
  });
});

describe('ResponsesStreamEncoder over an upstream Ollama', () => {
  async function encodeOllama(pieces: Buffer[]): Promise<string> {
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOllamaStream(fromPieces(pieces))) batches.push(batch);
    return encodeAll(batches);
  }

  it('gives the same events for each recorded Ollama stream cut at every chunk boundary, one byte at a time and at random', async () => {
    for (const name of ['thinking', 'tool-calls-a', 'tool-calls-b', 'parallel-tool-calls', 'text', 'length', 'error-mid-stream', 'truncated']) {
      const bytes = readFileSync(new URL(`../fixtures/ollama/${name}.ndjson`, import.meta.url));
      const expected = summary(await encodeOllama([bytes]));
      for (const pieces of everyBoundary(bytes)) expect(summary(await encodeOllama(pieces)), `${name} cut at ${pieces[0]!.length}`).toEqual(expected);
      expect(summary(await encodeOllama(byteAtATime(bytes))), `${name} byte at a time`).toEqual(expected);
      for (const seed of [1, 7, 42]) expect(summary(await encodeOllama(seededCuts(bytes, seed, 13))), `${name} seed ${seed}`).toEqual(expected);
    }
    const thinking = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/thinking.ndjson', import.meta.url))])) as any;
    expect(thinking.deltas).toEqual(['Okay, the user asks for 2+2. That is four.', '2 + 2 = 4.']);
    expect(thinking.last.type).toBe('response.completed');
    const tools = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/tool-calls-b.ndjson', import.meta.url))])) as any;
    expect(tools.last.response.output.map((item: any) => item.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
    const length = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/length.ndjson', import.meta.url))])) as any;
    expect(length.last.type).toBe('response.incomplete');
    const broken = summary(await encodeOllama([readFileSync(new URL('../fixtures/ollama/error-mid-stream.ndjson', import.meta.url))])) as any;
    expect(broken.last.type).toBe('response.failed');
  }, 60_000);
});
