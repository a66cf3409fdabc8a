import { describe, expect, it } from 'vitest';
import { toOllamaChatBody, toOllamaEmbedBody, toOllamaThink } from '../../src/adapters/ollama/request.js';
import type { ChatRequest, ReasoningEffort } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';

const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const minimal = (overrides: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'llama3.2:latest',
  messages: [{ role: 'user', content: 'Hi' }],
  sampling: {},
  ...overrides,
});

function expectBadRequest(run: () => unknown, message: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(GatewayError);
  expect(thrown).toMatchObject({ code: 'BAD_REQUEST', statusCode: 400, message });
}

describe('toOllamaChatBody', () => {
  it('sends a minimal request as is, always streamed, with nothing injected', () => {
    expect(toOllamaChatBody(minimal())).toEqual({
      model: 'llama3.2:latest',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
  });

  it('translates a full conversation exactly', () => {
    const request: ChatRequest = {
      model: 'qwen3:8b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is in this picture, and the weather in Paris?', images: [`data:image/png;base64,${PNG_BASE64}`, PNG_BASE64] },
        {
          role: 'assistant',
          content: '',
          reasoning: 'Need the weather tool.',
          toolCalls: [
            { id: 'call_abcd1234', name: 'get_weather', arguments: '{"city":"Paris","days":2}' },
            { id: 'call_efgh5678', name: 'get_time', arguments: '' },
          ],
        },
        { role: 'tool', content: '{"temp":21}', toolCallId: 'call_abcd1234', toolName: 'get_weather' },
        { role: 'tool', content: '12:00', toolCallId: 'call_efgh5678' },
      ],
      tools: [
        {
          name: 'get_weather',
          description: 'Weather by city',
          parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1 }, days: { type: 'integer', default: 1 } }, required: ['city'], additionalProperties: false },
        },
        { name: 'get_time' },
      ],
      toolChoice: 'auto',
      responseFormat: { type: 'json-schema', schema: { type: 'object', properties: { answer: { type: 'string' } } }, name: 'reply', strict: true },
      reasoning: { enabled: true, effort: 'high' },
      sampling: {
        temperature: 0.2,
        topP: 0.9,
        topK: 40,
        minP: 0.05,
        seed: 7,
        stop: ['</s>', 'User:'],
        maxOutputTokens: 256,
        repetitionPenalty: 1.1,
        presencePenalty: 0.5,
        frequencyPenalty: 0.25,
      },
      keepAlive: '10m',
    };
    expect(JSON.stringify(toOllamaChatBody(request))).toBe(
      JSON.stringify({
        model: 'qwen3:8b',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is in this picture, and the weather in Paris?', images: [PNG_BASE64, PNG_BASE64] },
          {
            role: 'assistant',
            content: '',
            thinking: 'Need the weather tool.',
            tool_calls: [
              { id: 'call_abcd1234', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris', days: 2 } } },
              { id: 'call_efgh5678', function: { index: 1, name: 'get_time', arguments: {} } },
            ],
          },
          { role: 'tool', content: '{"temp":21}', tool_call_id: 'call_abcd1234', tool_name: 'get_weather' },
          { role: 'tool', content: '12:00', tool_call_id: 'call_efgh5678' },
        ],
        stream: true,
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather by city',
              parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1 }, days: { type: 'integer', default: 1 } }, required: ['city'], additionalProperties: false },
            },
          },
          { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
        ],
        format: { type: 'object', properties: { answer: { type: 'string' } } },
        think: 'high',
        options: {
          temperature: 0.2,
          top_p: 0.9,
          top_k: 40,
          min_p: 0.05,
          seed: 7,
          stop: ['</s>', 'User:'],
          num_predict: 256,
          repeat_penalty: 1.1,
          presence_penalty: 0.5,
          frequency_penalty: 0.25,
        },
        keep_alive: '10m',
      }),
    );
  });

  it('forwards the client’s tool schema as the same object, not a lossy copy', () => {
    const parameters = { type: 'object', properties: { when: { oneOf: [{ type: 'string', format: 'date' }, { type: 'null' }] } }, $defs: { x: {} } };
    const body = toOllamaChatBody(minimal({ tools: [{ name: 't', parameters }] }));
    expect((body.tools as Array<{ function: { parameters: unknown } }>)[0]!.function.parameters).toBe(parameters);
  });

  it('offers no tools when the client chose "none" (Ollama has no tool_choice)', () => {
    expect(toOllamaChatBody(minimal({ tools: [{ name: 't' }], toolChoice: 'none' })).tools).toBeUndefined();
    expect(toOllamaChatBody(minimal({ tools: [{ name: 't' }], toolChoice: 'required' })).tools).toHaveLength(1);
    expect(toOllamaChatBody(minimal({ tools: [] })).tools).toBeUndefined();
  });

  it('sends json mode as format "json"', () => {
    expect(toOllamaChatBody(minimal({ responseFormat: { type: 'json' } })).format).toBe('json');
  });

  it('sends only the sampling options that were set, including zeros', () => {
    expect(toOllamaChatBody(minimal({ sampling: { temperature: 0, seed: 0 } })).options).toEqual({ temperature: 0, seed: 0 });
    expect(toOllamaChatBody(minimal({ sampling: { stop: [] } }))).not.toHaveProperty('options');
  });

  it('passes keep_alive through, numbers included (0 = unload now)', () => {
    expect(toOllamaChatBody(minimal({ keepAlive: 0 })).keep_alive).toBe(0);
    expect(toOllamaChatBody(minimal({ keepAlive: -1 })).keep_alive).toBe(-1);
    expect(toOllamaChatBody(minimal())).not.toHaveProperty('keep_alive');
  });

  it('omits the tool call id when there is none, and keeps argument key order', () => {
    const body = toOllamaChatBody(minimal({ messages: [{ role: 'assistant', content: '', toolCalls: [{ id: '', name: 'f', arguments: '{"z":1,"a":{"y":2,"b":3}}' }] }] }));
    expect(JSON.stringify(body.messages)).toBe('[{"role":"assistant","content":"","tool_calls":[{"function":{"index":0,"name":"f","arguments":{"z":1,"a":{"y":2,"b":3}}}}]}]');
  });

  it('does not send reasoning or tool fields on roles that cannot carry them', () => {
    const body = toOllamaChatBody(minimal({ messages: [{ role: 'user', content: 'x', reasoning: 'r', toolCallId: 'c', toolName: 'n' }] }));
    expect(body.messages).toEqual([{ role: 'user', content: 'x' }]);
  });

  it('refuses http(s) image URLs: Ollama cannot fetch them', () => {
    for (const url of ['https://example.com/cat.png', 'http://example.com/cat.png']) {
      expectBadRequest(() => toOllamaChatBody(minimal({ messages: [{ role: 'user', content: 'x', images: [url] }] })), 'image URLs are not currently supported, please use base64 encoded data instead');
    }
  });

  it('refuses a data URL that is not base64', () => {
    expectBadRequest(() => toOllamaChatBody(minimal({ messages: [{ role: 'user', content: 'x', images: ['data:image/svg+xml,<svg/>'] }] })), 'image data URLs must be base64 encoded');
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    for (const text of ['{"city":', '"just a string"', '[1,2]', 'null', '42']) {
      expectBadRequest(
        () => toOllamaChatBody(minimal({ messages: [{ role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'f', arguments: text }] }] })),
        'invalid tool call arguments',
      );
    }
  });
});

describe('toOllamaThink', () => {
  const cases: Array<[boolean, ReasoningEffort | undefined, unknown]> = [
    [false, undefined, false],
    [false, 'high', false],
    [true, undefined, true],
    [true, 'minimal', 'low'],
    [true, 'low', 'low'],
    [true, 'medium', 'medium'],
    [true, 'high', 'high'],
    [true, 'xhigh', 'max'],
    [true, 'max', 'max'],
  ];
  for (const [enabled, effort, expected] of cases) {
    it(`enabled=${enabled} effort=${effort ?? 'unset'} → ${JSON.stringify(expected)}`, () => {
      expect(toOllamaThink(effort === undefined ? { enabled } : { enabled, effort })).toBe(expected);
      expect(toOllamaChatBody(minimal({ reasoning: effort === undefined ? { enabled } : { enabled, effort } })).think).toBe(expected);
    });
  }

  it('sends no think at all when the client did not ask (a thinking model then thinks by default)', () => {
    expect(toOllamaChatBody(minimal())).not.toHaveProperty('think');
  });
});

describe('toOllamaEmbedBody', () => {
  it('sends model, input and truncate; dimensions only when set', () => {
    expect(toOllamaEmbedBody({ model: 'all-minilm:latest', input: ['a', 'b'] })).toEqual({ model: 'all-minilm:latest', input: ['a', 'b'], truncate: true });
    expect(toOllamaEmbedBody({ model: 'all-minilm:latest', input: ['a'], dimensions: 64 })).toEqual({ model: 'all-minilm:latest', input: ['a'], truncate: true, dimensions: 64 });
  });
});
