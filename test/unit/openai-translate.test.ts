import { describe, expect, it } from 'vitest';
import { OpenAiChatRequest, OpenAiCompletionRequest } from '../../schemas/openai.js';
import {
  chatRequestFromCompletion,
  chatRequestFromOpenAi,
  embeddingsEncoding,
  embeddingsInput,
  toBase64Embedding,
} from '../../src/frontends/openai/translate.js';
import { toReasoning } from '../../src/core/reasoning.js';
import { toPassthroughBody } from '../../src/adapters/openrouter/passthrough-body.js';
import { toOpenRouterChatBody } from '../../src/adapters/openrouter/request.js';

const user = { role: 'user', content: 'hi' };
const translate = (body: Record<string, unknown>) => chatRequestFromOpenAi(OpenAiChatRequest.parse({ model: 'm', messages: [user], ...body }), 'vendor/model');
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk';

describe('OpenAI chat request → ChatRequest', () => {
  it('uses the resolved backend id and injects no sampling defaults', () => {
    const request = translate({});
    expect(request).toEqual({ model: 'vendor/model', messages: [{ role: 'user', content: 'hi' }], sampling: {} });
  });

  it('maps max_tokens to sampling.maxOutputTokens', () => {
    expect(translate({ max_tokens: 64 }).sampling.maxOutputTokens).toBe(64);
  });

  it('maps max_completion_tokens too, and prefers it over max_tokens', () => {
    expect(translate({ max_completion_tokens: 128 }).sampling.maxOutputTokens).toBe(128);
    expect(translate({ max_tokens: 64, max_completion_tokens: 128 }).sampling.maxOutputTokens).toBe(128);
  });

  it('maps the other sampling fields; stop as a string or a list', () => {
    expect(translate({ temperature: 0.2, top_p: 0.9, seed: 7, frequency_penalty: 0.1, presence_penalty: 0.3, top_k: 40, min_p: 0.05, repetition_penalty: 1.1, stop: 'END' }).sampling).toEqual({
      temperature: 0.2, topP: 0.9, seed: 7, frequencyPenalty: 0.1, presencePenalty: 0.3, topK: 40, minP: 0.05, repetitionPenalty: 1.1, stop: ['END'],
    });
    expect(translate({ stop: ['a', 'b'] }).sampling.stop).toEqual(['a', 'b']);
  });

  it('maps response_format json_object to json', () => {
    expect(translate({ response_format: { type: 'json_object' } }).responseFormat).toEqual({ type: 'json' });
  });

  it('maps response_format json_schema with its schema, name and strict', () => {
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    expect(translate({ response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } }).responseFormat).toEqual({
      type: 'json-schema', schema, name: 'person', strict: true,
    });
    expect(translate({ response_format: { type: 'text' } }).responseFormat).toBeUndefined();
  });

  it('maps reasoning_effort: none disables, minimal/xhigh/max are kept, ultra is max', () => {
    expect(translate({ reasoning_effort: 'none' }).reasoning).toEqual({ enabled: false });
    expect(translate({ reasoning_effort: 'minimal' }).reasoning).toEqual({ enabled: true, effort: 'minimal' });
    expect(translate({ reasoning_effort: 'high' }).reasoning).toEqual({ enabled: true, effort: 'high' });
    expect(translate({ reasoning_effort: 'xhigh' }).reasoning).toEqual({ enabled: true, effort: 'xhigh' });
    expect(translate({ reasoning_effort: 'max' }).reasoning).toEqual({ enabled: true, effort: 'max' });
    expect(translate({ reasoning_effort: 'ultra' }).reasoning).toEqual({ enabled: true, effort: 'max' });
  });

  it('maps reasoning.effort and reasoning.enabled the same way; reasoning_effort wins', () => {
    expect(translate({ reasoning: { effort: 'low' } }).reasoning).toEqual({ enabled: true, effort: 'low' });
    expect(translate({ reasoning: { enabled: false } }).reasoning).toEqual({ enabled: false });
    expect(translate({ reasoning: { max_tokens: 2000 } }).reasoning).toEqual({ enabled: true });
    expect(translate({ reasoning_effort: 'high', reasoning: { effort: 'low' } }).reasoning).toEqual({ enabled: true, effort: 'high' });
  });

  it("accepts Ollama's think knob when no OpenAI reasoning field is set", () => {
    expect(translate({ think: true }).reasoning).toEqual({ enabled: true });
    expect(translate({ think: 'low' }).reasoning).toEqual({ enabled: true, effort: 'low' });
    expect(translate({ think: true, reasoning_effort: 'none' }).reasoning).toEqual({ enabled: false });
  });

  it('rejects an unknown reasoning effort with a 400, names of Object.prototype included', () => {
    for (const effort of ['extreme', 'constructor', 'toString', '__proto__']) {
      expect(() => toReasoning({ reasoning_effort: effort }), effort).toThrow(expect.objectContaining({ statusCode: 400, message: expect.stringContaining('invalid reasoning effort') }));
    }
  });

  it('keeps image_url data URLs (object or bare string form) next to the text', () => {
    const request = translate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: PNG, detail: 'low' } }, { type: 'image_url', image_url: PNG }] }] });
    expect(request.messages).toEqual([{ role: 'user', content: 'What is this?', images: [PNG, PNG] }]);
  });

  it('rejects an image that is not a data or http(s) URL', () => {
    expect(() => translate({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] })).toThrow('invalid image input');
  });

  it("keeps tool messages' tool_call_id and finds the function name from the call", () => {
    const request = translate({
      messages: [
        user,
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_9fK2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_9fK2', content: '22°C' },
      ],
    });
    expect(request.messages[2]).toEqual({ role: 'tool', content: '22°C', toolCallId: 'call_9fK2', toolName: 'get_weather' });
  });

  it("keeps assistant tool_calls' id and arguments string as sent", () => {
    const args = '{"city": "Paris",  "days":2}';
    const request = translate({ messages: [user, { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }] }] });
    expect(request.messages[1]).toEqual({ role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'f', arguments: args }] });
  });

  it('turns developer into system and keeps assistant reasoning from either field', () => {
    const request = translate({ messages: [{ role: 'developer', content: 'be terse' }, user, { role: 'assistant', content: 'x', reasoning_content: 'because' }] });
    expect(request.messages[0]).toEqual({ role: 'system', content: 'be terse' });
    expect(request.messages[2]).toEqual({ role: 'assistant', content: 'x', reasoning: 'because' });
  });

  it('rejects null content on a user message as Ollama does', () => {
    expect(() => translate({ messages: [{ role: 'user', content: null }] })).toThrow('invalid message content type: <nil>');
  });

  it('maps tools with their JSON schema untouched, and tool_choice', () => {
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const request = translate({ tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters } }], tool_choice: 'required' });
    expect(request.tools).toEqual([{ name: 'get_weather', description: 'Weather', parameters }]);
    expect(request.toolChoice).toBe('required');
    expect(translate({ tools: [] }).tools).toBeUndefined();
  });

  it('goes out to OpenRouter as an equivalent OpenAI body', () => {
    const body = toOpenRouterChatBody(translate({ max_completion_tokens: 5, reasoning_effort: 'max', response_format: { type: 'json_object' } }));
    expect(body).toMatchObject({ model: 'vendor/model', max_tokens: 5, reasoning: { effort: 'xhigh' }, response_format: { type: 'json_object' } });
  });
});

describe('OpenAI legacy completion → ChatRequest', () => {
  const completion = (body: Record<string, unknown>) => chatRequestFromCompletion(OpenAiCompletionRequest.parse({ model: 'm', ...body }), 'vendor/model');

  it('makes the prompt one user message', () => {
    expect(completion({ prompt: 'Once upon', max_tokens: 5 })).toEqual({ model: 'vendor/model', messages: [{ role: 'user', content: 'Once upon' }], sampling: { maxOutputTokens: 5 } });
    expect(completion({ prompt: ['Once upon'] }).messages).toEqual([{ role: 'user', content: 'Once upon' }]);
  });

  it('rejects several prompts and suffix', () => {
    expect(() => completion({ prompt: ['a', 'b'] })).toThrow(/one prompt/);
    expect(() => completion({ prompt: 'a', suffix: 'b' })).toThrow(/does not support insert/);
  });
});

describe('OpenAI passthrough body', () => {
  it('resolves the model, drops Ollama knobs and maps think to reasoning', () => {
    const raw = { model: 'gpt-4o', messages: [user], think: 'high', keep_alive: '5m', num_ctx: 8192, options: { temperature: 1 }, temperature: 0.5, stream: true };
    expect(toPassthroughBody({ body: raw, model: 'openai/gpt-4o' })).toEqual({
      model: 'openai/gpt-4o', messages: [user], temperature: 0.5, stream: true, reasoning_effort: 'high',
    });
    const off = { model: 'm', messages: [user], think: false };
    expect(toPassthroughBody({ body: off, model: 'x/m' }).reasoning_effort).toBe('none');
    const on = { model: 'm', messages: [user], think: true };
    expect(toPassthroughBody({ body: on, model: 'x/m' }).reasoning_effort).toBe('medium');
  });

  it('fills fields the client left unset from the model defaults of the models config', () => {
    const raw = { model: 'm', messages: [user], temperature: 0.9 };
    const defaults = { sampling: { temperature: 0.2, topP: 0.5, maxOutputTokens: 2048, stop: ['END'] }, reasoning: { enabled: false } };
    expect(toPassthroughBody({ body: raw, model: 'x/m', defaults })).toEqual({
      model: 'x/m', messages: [user], temperature: 0.9, top_p: 0.5, max_tokens: 2048, stop: ['END'], reasoning_effort: 'none',
    });
    const capped = { model: 'm', messages: [user], max_completion_tokens: 10 };
    expect(toPassthroughBody({ body: capped, model: 'x/m', defaults }).max_tokens).toBeUndefined();
  });

  it('drops an empty tool list (and its tool_choice)', () => {
    const raw = { model: 'm', messages: [user], tools: [], tool_choice: 'auto' };
    expect(toPassthroughBody({ body: raw, model: 'x/m' })).toEqual({ model: 'x/m', messages: [user] });
  });

  it("keeps the client's own reasoning over think, clamping max to xhigh", () => {
    const raw = { model: 'm', messages: [user], think: true, reasoning_effort: 'max' };
    expect(toPassthroughBody({ body: raw, model: 'x/m' })).toEqual({ model: 'x/m', messages: [user], reasoning_effort: 'xhigh' });
    const nested = { model: 'm', messages: [user], reasoning: { effort: 'max', exclude: false } };
    expect(toPassthroughBody({ body: nested, model: 'x/m' }).reasoning).toEqual({ effort: 'xhigh', exclude: false });
  });
});

describe('OpenAI embeddings input', () => {
  it('accepts a string or strings; an empty string is one input', () => {
    expect(embeddingsInput('a')).toEqual(['a']);
    expect(embeddingsInput('')).toEqual(['']);
    expect(embeddingsInput(['a', 'b'])).toEqual(['a', 'b']);
  });

  it('rejects [] with "invalid input" and other types with "invalid input type"', () => {
    expect(() => embeddingsInput([])).toThrow(/^invalid input$/);
    expect(() => embeddingsInput([1, 2])).toThrow('invalid input type');
    expect(() => embeddingsInput(undefined)).toThrow('invalid input type');
  });

  it("accepts float and base64 encodings, anything else with Ollama's message", () => {
    expect(embeddingsEncoding(undefined)).toBe('float');
    expect(embeddingsEncoding('base64')).toBe('base64');
    expect(() => embeddingsEncoding('int8')).toThrow("Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64'].");
  });

  it('encodes base64 as little-endian float32', () => {
    const encoded = toBase64Embedding([1, -0.5, 0.25]);
    const bytes = Buffer.from(encoded, 'base64');
    expect(bytes.length).toBe(12);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([1, -0.5, 0.25]);
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x00, 0x80, 0x3f]));
  });
});
