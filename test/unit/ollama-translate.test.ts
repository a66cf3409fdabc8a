import { describe, expect, it } from 'vitest';
import {
  chatRequestFromGenerate,
  chatRequestFromOllama,
  samplingFromOptions,
  toMessages,
  toResponseFormat,
} from '../../src/frontends/ollama/translate.js';
import { toReasoning } from '../../src/core/reasoning.js';
import { keepAliveMilliseconds } from '../../src/frontends/keep-alive.js';
import { toOpenRouterChatBody } from '../../src/adapters/openrouter/request.js';
import { OllamaChatRequest } from '../../schemas/ollama.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const JPEG = '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q==';

describe('Ollama request → ChatRequest', () => {
  it('maps every option with an OpenRouter meaning and ignores the rest', () => {
    expect(samplingFromOptions({ temperature: 0, top_p: 0.9, top_k: 40, min_p: 0.05, seed: 7, stop: 'END', num_predict: 100, repeat_penalty: 1.1, presence_penalty: 0.5, frequency_penalty: 0.25, num_ctx: 8192, mirostat: 2 }))
      .toEqual({ temperature: 0, topP: 0.9, topK: 40, minP: 0.05, seed: 7, stop: ['END'], maxOutputTokens: 100, repetitionPenalty: 1.1, presencePenalty: 0.5, frequencyPenalty: 0.25 });
  });

  it('drops a negative or zero num_predict (never sends -1 upstream)', () => {
    expect(samplingFromOptions({ num_predict: -1 })).toEqual({});
    expect(samplingFromOptions({ num_predict: -2 })).toEqual({});
  });

  it('rejects a known option of the wrong type', () => {
    expect(() => samplingFromOptions({ temperature: 'hot' })).toThrow('option "temperature" must be of type number');
    expect(() => samplingFromOptions({ stop: 5 })).toThrow('option "stop" must be of type array');
  });

  it('maps format to a response format, wrapping a schema', () => {
    expect(toResponseFormat('json')).toEqual({ type: 'json' });
    expect(toResponseFormat('')).toBeUndefined();
    expect(toResponseFormat(null)).toBeUndefined();
    const schema = { type: 'object', properties: { age: { type: 'integer' } } };
    expect(toResponseFormat(schema)).toEqual({ type: 'json-schema', schema, name: 'response' });
    expect(() => toResponseFormat('yaml')).toThrow('invalid format');
  });

  it('maps think booleans and levels, and rejects other values in Ollama words', () => {
    expect(toReasoning({ think: true })).toEqual({ enabled: true });
    expect(toReasoning({ think: false })).toEqual({ enabled: false });
    expect(toReasoning({ think: 'high' })).toEqual({ enabled: true, effort: 'high' });
    expect(toReasoning({ think: undefined })).toBeUndefined();
    expect(() => toReasoning({ think: 'extreme' })).toThrow('invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)');
  });

  it('turns bare base64 images into data URLs with the MIME type sniffed from the bytes', () => {
    const request = chatRequestFromGenerate({ model: 'm', prompt: 'what is this?', system: 'be terse', images: [PNG, JPEG] }, 'vendor/m');
    expect(request.messages).toEqual([
      { role: 'system', content: 'be terse' },
      { role: 'user', content: 'what is this?', images: [`data:image/png;base64,${PNG}`, `data:image/jpeg;base64,${JPEG}`] },
    ]);
  });

  it('pairs tool results to calls by id, by name, and by position', () => {
    const messages = toMessages(OllamaChatRequest.parse({ messages: [
      { role: 'user', content: 'weather and time?' },
      { role: 'assistant', content: '', tool_calls: [
        { function: { name: 'get_weather', arguments: { city: 'Paris' } } },
        { id: 'call_known', function: { name: 'get_time', arguments: { zone: 'CET' } } },
        { function: { name: 'get_news', arguments: {} } },
      ] },
      { role: 'tool', tool_call_id: 'call_known', content: '12:00' },
      { role: 'tool', tool_name: 'get_news', content: 'nothing new' },
      { role: 'tool', content: '22°C' },
    ] }).messages!);
    const calls = messages[1]!.toolCalls!;
    expect(calls[0]!.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(calls[1]!.id).toBe('call_known');
    expect(calls.map((call) => call.arguments)).toEqual(['{"city":"Paris"}', '{"zone":"CET"}', '{}']);
    expect(messages[2]).toMatchObject({ role: 'tool', toolCallId: 'call_known', toolName: 'get_time' });
    expect(messages[3]).toMatchObject({ role: 'tool', toolCallId: calls[2]!.id, toolName: 'get_news' });
    expect(messages[4]).toMatchObject({ role: 'tool', toolCallId: calls[0]!.id, toolName: 'get_weather' });
  });

  it('produces the exact OpenRouter body', () => {
    const request = chatRequestFromOllama(OllamaChatRequest.parse({
      model: 'gpt-4o', format: 'json', think: 'low', options: { temperature: 0, num_predict: -1 },
      tools: [{ type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: { a: { type: 'string', format: 'date' } } } } }],
      messages: [{ role: 'user', content: 'hi', images: [PNG] }, { role: 'assistant', content: '', thinking: 'prior', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: { a: '2020-01-01' } } }] }, { role: 'tool', content: 'ok' }],
    }), 'openai/gpt-4o');
    expect(toOpenRouterChatBody(request)).toEqual({
      model: 'openai/gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      usage: { include: true },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
        { role: 'assistant', content: '', reasoning: 'prior', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":"2020-01-01"}' } }] },
        { role: 'tool', content: 'ok', tool_call_id: 'c1', name: 'f' },
      ],
      tools: [{ type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: { a: { type: 'string', format: 'date' } } } } }],
      response_format: { type: 'json_object' },
      reasoning: { effort: 'low' },
      temperature: 0,
    });
  });

  it('reads keep_alive as Ollama does', () => {
    expect(keepAliveMilliseconds(undefined)).toBe(300_000);
    expect(keepAliveMilliseconds(30)).toBe(30_000);
    expect(keepAliveMilliseconds(-1)).toBe(-1);
    expect(keepAliveMilliseconds('1h30m')).toBe(5_400_000);
    expect(keepAliveMilliseconds('300s')).toBe(300_000);
    expect(keepAliveMilliseconds('-1m')).toBe(-1);
    expect(() => keepAliveMilliseconds('300')).toThrow('time: missing unit in duration "300"');
  });
});
