import { encodePieces } from '../helpers/encoding.js';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  OpenAiChatStreamEncoder,
  OpenAiCompletionStreamEncoder,
  chatCompletionObject,
  completionObject,
  newChatCompletionMeta,
  newCompletionMeta,
  type OpenAiSseEncoder,
  type OpenAiStreamMeta,
} from '../../src/frontends/openai/encode.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import {
  OpenAiChatCompletion,
  OpenAiChatCompletionChunk,
  OpenAiCompletion,
  OpenAiErrorResponse,
} from '../../schemas/openai.js';

const META: OpenAiStreamMeta = { id: 'chatcmpl-test', created: 1767225600, model: 'Openai/GPT-4o', includeUsage: false };

async function encodeRaw(batches: ChatEventBatch[], encoder: OpenAiSseEncoder): Promise<{ text: string; pieces: string[] }> {
  const pieces = await encodePieces(batches, encoder);
  return { text: pieces.join(''), pieces };
}

/** The SSE text as a list of data payloads (parsed JSON, or the string `[DONE]`). */
function events(text: string): any[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      expect(event.startsWith('data: ')).toBe(true);
      const data = event.slice(6);
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

async function chat(batches: ChatEventBatch[], meta: Partial<OpenAiStreamMeta> = {}): Promise<any[]> {
  const { text } = await encodeRaw(batches, new OpenAiChatStreamEncoder({ ...META, ...meta }));
  const parsed = events(text);
  for (const event of parsed) if (event !== '[DONE]' && !event.error) OpenAiChatCompletionChunk.parse(event);
  return parsed;
}

const TOOL_CALL = { id: 'call_x1y2z3w4', name: 'get_temperature', arguments: '{"city":"New York"}' };

describe('OpenAI chat SSE encoder (Ollama 0.32.6+ sequence)', () => {
  it('puts the role only on the first chunk', async () => {
    const out = await chat([[{ type: 'text-delta', text: 'Hel' }], [{ type: 'text-delta', text: 'lo' }], [{ type: 'finish', reason: 'stop' }]]);
    expect(out[0].choices[0].delta).toEqual({ role: 'assistant', content: 'Hel' });
    expect(out[1].choices[0].delta).toEqual({ content: 'lo' });
    expect(out.slice(1, -1).every((event) => !('role' in event.choices[0].delta))).toBe(true);
  });

  it('shares one id, one created, the requested model and fp_ollama across all chunks', async () => {
    const out = await chat([[{ type: 'text-delta', text: 'a' }, { type: 'text-delta', text: 'b' }], [{ type: 'finish', reason: 'stop', usage: { inputTokens: 1, outputTokens: 2 } }]], { includeUsage: true });
    const chunks = out.filter((event) => event !== '[DONE]');
    expect(chunks.length).toBe(4);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1767225600, model: 'Openai/GPT-4o', system_fingerprint: 'fp_ollama' });
    }
  });

  it('sends the finish reason in its own chunk with an empty delta, then [DONE]', async () => {
    const out = await chat([[{ type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop' }]]);
    expect(out).toHaveLength(3);
    expect(out[0].choices[0].finish_reason).toBeNull();
    expect(out[1].choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    expect(out[2]).toBe('[DONE]');
  });

  it('finishes with tool_calls when tools were emitted, even if the upstream said stop', async () => {
    const out = await chat([[{ type: 'tool-call', index: 0, call: TOOL_CALL }, { type: 'finish', reason: 'stop' }]]);
    expect(out[1].choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'tool_calls' });
  });

  it('sends complete tool calls in one delta with id, index, type and a JSON-string arguments', async () => {
    const out = await chat([
      [{ type: 'tool-call', index: 0, call: TOOL_CALL }, { type: 'tool-call', index: 1, call: { id: 'call_2', name: 'get_time', arguments: '{}' } }, { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 169, outputTokens: 15 } }],
    ], { includeUsage: true });
    expect(out[0].choices[0].delta).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [
        { id: 'call_x1y2z3w4', index: 0, type: 'function', function: { name: 'get_temperature', arguments: '{"city":"New York"}' } },
        { id: 'call_2', index: 1, type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    });
    expect(out[1].choices[0].finish_reason).toBe('tool_calls');
    expect(out[2]).toMatchObject({ choices: [], usage: { prompt_tokens: 169, completion_tokens: 15, total_tokens: 184 } });
    expect(out[3]).toBe('[DONE]');
  });

  it('sends the usage chunk (choices: []) only with include_usage', async () => {
    const batches: ChatEventBatch[] = [[{ type: 'text-delta', text: 'Hi' }], [{ type: 'finish', reason: 'stop', usage: { inputTokens: 9, outputTokens: 3 } }]];
    const without = await chat(batches);
    expect(without.some((event) => event !== '[DONE]' && 'usage' in event)).toBe(false);
    const withUsage = await chat(batches, { includeUsage: true });
    expect(withUsage.at(-2)).toEqual({
      id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1767225600, model: 'Openai/GPT-4o', system_fingerprint: 'fp_ollama',
      choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
    });
    expect(withUsage.slice(0, -2).every((event) => !('usage' in event))).toBe(true);
  });

  it('reports unknown usage as zeros when usage was asked for', async () => {
    const out = await chat([[{ type: 'text-delta', text: 'Hi' }, { type: 'finish', reason: 'stop' }]], { includeUsage: true });
    expect(out.at(-2).usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('sends reasoning in both reasoning and reasoning_content, with empty content', async () => {
    const out = await chat([[{ type: 'reasoning-delta', text: 'Two plus two' }], [{ type: 'reasoning-delta', text: ' is four.' }, { type: 'text-delta', text: '4' }], [{ type: 'finish', reason: 'stop' }]]);
    expect(out[0].choices[0].delta).toEqual({ role: 'assistant', content: '', reasoning: 'Two plus two', reasoning_content: 'Two plus two' });
    expect(out[1].choices[0].delta).toEqual({ content: '', reasoning: ' is four.', reasoning_content: ' is four.' });
    expect(out[2].choices[0].delta).toEqual({ content: '4' });
  });

  it('ends a failed stream with one in-band error event and no [DONE]', async () => {
    const { text } = await encodeRaw(
      [[{ type: 'text-delta', text: 'partial' }], [{ type: 'error', error: new GatewayError('UPSTREAM_ERROR', 'Provider disconnected', { statusCode: 502 }) }], [{ type: 'text-delta', text: 'ignored' }]],
      new OpenAiChatStreamEncoder(META),
    );
    const out = events(text);
    expect(out).toHaveLength(2);
    expect(text).not.toContain('[DONE]');
    expect(OpenAiErrorResponse.parse(out[1])).toEqual({ error: { message: 'Provider disconnected', type: 'api_error', param: null, code: 'upstream_error' } });
  });

  it('ends with an error event when the upstream stops without a terminal event', async () => {
    const { text } = await encodeRaw([[{ type: 'text-delta', text: 'cut' }]], new OpenAiChatStreamEncoder(META));
    const out = events(text);
    expect(out.at(-1).error.message).toMatch(/without finishing/);
    expect(text).not.toContain('[DONE]');
  });

  it('preserves length as the finish reason', async () => {
    const out = await chat([[{ type: 'text-delta', text: 'The answer is' }, { type: 'finish', reason: 'length' }]]);
    expect(out[1].choices[0].finish_reason).toBe('length');
  });

  it('maps content-filter to content_filter', async () => {
    const out = await chat([[{ type: 'finish', reason: 'content-filter' }]]);
    expect(out.at(-2).choices[0].finish_reason).toBe('content_filter');
  });

  it('still sends a role chunk when the answer is empty', async () => {
    const out = await chat([[{ type: 'finish', reason: 'stop' }]]);
    expect(out[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(out[1].choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'stop' });
  });

  it('produces one output string per input batch', async () => {
    const { pieces } = await encodeRaw(
      [[{ type: 'text-delta', text: 'a' }, { type: 'reasoning-delta', text: 'b' }, { type: 'text-delta', text: 'c' }], [{ type: 'text-delta', text: 'd' }], [{ type: 'finish', reason: 'stop' }]],
      new OpenAiChatStreamEncoder(META),
    );
    expect(pieces).toHaveLength(3);
    expect(pieces[0]!.match(/^data: /gm)).toHaveLength(3);
  });

  it('escapes text safely (quotes, newlines, unicode, line separators)', async () => {
    const text = 'say "hi"\n\\ 🌍 \u2028 </script>';
    const out = await chat([[{ type: 'text-delta', text }, { type: 'finish', reason: 'stop' }]]);
    expect(out[0].choices[0].delta.content).toBe(text);
  });

  it('gives every answer its own chatcmpl- id and a current created time', () => {
    const first = newChatCompletionMeta('m');
    const second = newChatCompletionMeta('m');
    expect(first.id).toMatch(/^chatcmpl-[a-z0-9]+$/);
    expect(first.id).not.toBe(second.id);
    expect(Math.abs(first.created - Date.now() / 1000)).toBeLessThan(5);
    expect(newCompletionMeta('m').id).toMatch(/^cmpl-[a-z0-9]+$/);
  });
});

describe('OpenAI legacy completions SSE encoder', () => {
  const meta: OpenAiStreamMeta = { id: 'cmpl-test', created: 1767225600, model: 'm', includeUsage: true };

  it('sends text_completion chunks with text, a finish chunk, the usage chunk and [DONE]', async () => {
    const { text } = await encodeRaw(
      [[{ type: 'reasoning-delta', text: 'hidden' }, { type: 'text-delta', text: 'Once' }], [{ type: 'text-delta', text: ' upon' }, { type: 'finish', reason: 'length', usage: { inputTokens: 2, outputTokens: 2 } }]],
      new OpenAiCompletionStreamEncoder(meta),
    );
    const out = events(text);
    for (const event of out.slice(0, -1)) OpenAiCompletion.parse(event);
    expect(out.map((event) => (event === '[DONE]' ? event : event.choices))).toEqual([
      [{ text: 'Once', index: 0, finish_reason: null }],
      [{ text: ' upon', index: 0, finish_reason: null }],
      [{ text: '', index: 0, finish_reason: 'length' }],
      [],
      '[DONE]',
    ]);
    expect(out[3].usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
    expect(out[0]).toMatchObject({ id: 'cmpl-test', object: 'text_completion', created: 1767225600, model: 'm' });
  });

  it('ends a failed completion with an error event and no [DONE]', async () => {
    const { text } = await encodeRaw([[{ type: 'text-delta', text: 'x' }, { type: 'error', error: new GatewayError('UPSTREAM_TIMEOUT', 'went silent') }]], new OpenAiCompletionStreamEncoder(meta));
    expect(events(text).at(-1)).toEqual({ error: { message: 'went silent', type: 'api_error', param: null, code: 'upstream_timeout' } });
    expect(text).not.toContain('[DONE]');
  });
});

describe('OpenAI non-stream objects', () => {
  it('builds a chat.completion with content, both reasoning fields, tool calls, finish reason and usage', () => {
    const object = chatCompletionObject(
      { text: '', reasoning: 'think', toolCalls: [TOOL_CALL], finishReason: 'stop', usage: { inputTokens: 169, outputTokens: 15 } },
      META,
    );
    expect(OpenAiChatCompletion.parse(object)).toEqual({
      id: 'chatcmpl-test', object: 'chat.completion', created: 1767225600, model: 'Openai/GPT-4o', system_fingerprint: 'fp_ollama',
      choices: [{
        index: 0,
        message: {
          role: 'assistant', content: '', reasoning: 'think', reasoning_content: 'think',
          tool_calls: [{ id: 'call_x1y2z3w4', index: 0, type: 'function', function: { name: 'get_temperature', arguments: '{"city":"New York"}' } }],
        },
        finish_reason: 'tool_calls',
      }],
      usage: { prompt_tokens: 169, completion_tokens: 15, total_tokens: 184 },
    });
  });

  it('omits reasoning fields and tool calls when there are none, and keeps length', () => {
    const object = chatCompletionObject({ text: 'Hi', reasoning: '', toolCalls: [], finishReason: 'length' }, META) as any;
    expect(object.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'length' });
  });

  it('builds a text_completion object', () => {
    const object = completionObject({ text: 'Once upon', reasoning: 'x', toolCalls: [], finishReason: 'stop', usage: { inputTokens: 2, outputTokens: 2 } }, { ...META, id: 'cmpl-1' });
    expect(OpenAiCompletion.parse(object)).toMatchObject({
      id: 'cmpl-1', object: 'text_completion', choices: [{ text: 'Once upon', index: 0, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 },
    });
  });
});
