import { encodePieces } from '../helpers/encoding.js';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import {
  OllamaStreamEncoder,
  StreamTiming,
  ollamaFinalObject,
  ollamaLoadObject,
} from '../../src/frontends/ollama/encode.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import { OllamaChatResponse, OllamaErrorResponse, OllamaGenerateResponse } from '../../schemas/ollama.js';

async function encode(batches: ChatEventBatch[], endpoint: 'chat' | 'generate' = 'chat', model = 'Some/Model:latest'): Promise<any[]> {
  const encoder = new OllamaStreamEncoder(model, endpoint, new StreamTiming());
  const text = (await encodePieces(batches, encoder)).join('');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((line) => JSON.parse(line));
}

describe('Ollama NDJSON encoder', () => {
  it('echoes the model exactly as the client sent it, with an RFC 3339 nanosecond created_at', async () => {
    const lines = await encode([[{ type: 'text-delta', text: 'hi' }], [{ type: 'finish', reason: 'stop' }]]);
    for (const line of lines) {
      OllamaChatResponse.parse(line);
      expect(line.model).toBe('Some/Model:latest');
      expect(line.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    }
  });

  it('keeps thinking out of content', async () => {
    const lines = await encode([[{ type: 'reasoning-delta', text: 'hmm' }, { type: 'text-delta', text: 'answer' }], [{ type: 'finish', reason: 'stop' }]]);
    expect(lines[0].message).toEqual({ role: 'assistant', content: '', thinking: 'hmm' });
    expect(lines[1].message).toEqual({ role: 'assistant', content: 'answer' });
  });

  it('escapes text safely (quotes, newlines, unicode)', async () => {
    const text = 'say "hi"\n\\ 🌍 \u2028';
    const lines = await encode([[{ type: 'text-delta', text }], [{ type: 'finish', reason: 'stop' }]]);
    expect(lines[0].message.content).toBe(text);
  });

  it('sends tool calls as objects with id and index in a done:false line before the final line', async () => {
    const lines = await encode([
      [{ type: 'tool-call', index: 0, call: { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","days":2}' } }, { type: 'tool-call', index: 1, call: { id: 'call_2', name: 'get_time', arguments: '{}' } }, { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 3, outputTokens: 4 } }],
    ]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ done: false, message: { role: 'assistant', content: '', tool_calls: [
      { id: 'call_1', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris', days: 2 } } },
      { id: 'call_2', function: { index: 1, name: 'get_time', arguments: {} } },
    ] } });
    expect(lines[1]).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 4 });
  });

  it('reports a tool call whose arguments are not a JSON object as an error line, as Ollama does', async () => {
    const lines = await encode([[{ type: 'tool-call', index: 0, call: { id: 'c', name: 'f', arguments: '{"broken' } }, { type: 'finish', reason: 'tool-calls' }]]);
    expect(lines).toEqual([{ error: `error parsing tool call: raw='{"broken'` }]);
  });

  it('ends with done:true, done_reason and integer nanosecond metrics; zero counts omitted', async () => {
    const lines = await encode([[{ type: 'text-delta', text: 'x' }], [{ type: 'finish', reason: 'length' }]]);
    const last = lines.at(-1);
    expect(last).toMatchObject({ done: true, done_reason: 'length', message: { role: 'assistant', content: '' } });
    for (const key of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) expect(Number.isInteger(last[key]) && last[key] > 0).toBe(true);
    expect(last).not.toHaveProperty('prompt_eval_count');
    expect(last).not.toHaveProperty('eval_count');
  });

  it('ends a failed stream with one error line and no done line', async () => {
    const lines = await encode([[{ type: 'text-delta', text: 'partial' }], [{ type: 'error', error: new GatewayError('UPSTREAM_ERROR', 'provider went away') }], [{ type: 'finish', reason: 'stop' }]]);
    expect(lines).toHaveLength(2);
    OllamaErrorResponse.parse(lines[1]);
    expect(lines[1]).toEqual({ error: 'provider went away' });
  });

  it('ends with an error line when the upstream stops without a terminal event', async () => {
    const lines = await encode([[{ type: 'text-delta', text: 'partial' }]]);
    expect(lines.at(-1)).toEqual({ error: 'the upstream ended the stream without finishing the answer' });
  });

  it('uses `response` and top-level `thinking` for generate', async () => {
    const lines = await encode([[{ type: 'reasoning-delta', text: 'r' }, { type: 'text-delta', text: 'a' }], [{ type: 'finish', reason: 'stop' }]], 'generate');
    for (const line of lines) OllamaGenerateResponse.parse(line);
    expect(lines[0]).toMatchObject({ response: '', thinking: 'r', done: false });
    expect(lines[1]).toMatchObject({ response: 'a', done: false });
    expect(lines[2]).toMatchObject({ response: '', done: true, done_reason: 'stop' });
  });

  it('builds the stream:false object from the collected result', () => {
    const chat = ollamaFinalObject('m', 'chat', { text: 'hi', reasoning: 'r', toolCalls: [{ id: 'c', name: 'f', arguments: '{"a":1}' }], finishReason: 'tool-calls', usage: { inputTokens: 1, outputTokens: 2 } }, new StreamTiming());
    OllamaChatResponse.parse(chat);
    expect(chat).toMatchObject({ model: 'm', done: true, done_reason: 'stop', message: { content: 'hi', thinking: 'r', tool_calls: [{ id: 'c', function: { index: 0, name: 'f', arguments: { a: 1 } } }] }, prompt_eval_count: 1, eval_count: 2 });
    const generate = ollamaFinalObject('m', 'generate', { text: 'hi', reasoning: '', toolCalls: [], finishReason: 'length' }, new StreamTiming());
    OllamaGenerateResponse.parse(generate);
    expect(generate).toMatchObject({ response: 'hi', done_reason: 'length' });
    expect(generate).not.toHaveProperty('thinking');
  });

  it('answers load and unload like Ollama', () => {
    expect(ollamaLoadObject('m', 'chat', false)).toMatchObject({ message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
    expect(ollamaLoadObject('m', 'generate', true)).toMatchObject({ response: '', done: true, done_reason: 'unload' });
  });
});
