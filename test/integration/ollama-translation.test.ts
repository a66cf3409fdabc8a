/**
 * Ollama requests → the exact OpenRouter request the fake recorded (body and headers).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter, type RecordedRequest } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { postRaw } from '../helpers/ollama-checks.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  gateway = await startGateway(fake.baseUrl);
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

// A real 1×1 PNG and the start of a real JPEG (SOI + JFIF APP0), as bare base64 the way Ollama clients send them.
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const JPEG_BASE64 = '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=';

const STREAM_FIELDS = { stream: true, stream_options: { include_usage: true }, usage: { include: true } };

/** Sends a request to the gateway and returns what the fake recorded for it upstream. */
async function upstreamOf(path: '/api/chat' | '/api/generate', body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<RecordedRequest> {
  const before = fake.chatRequests().length;
  const result = await postRaw(`${gateway.url}${path}`, { stream: false, ...body }, headers);
  expect(result.status, result.text).toBe(200);
  const recorded = fake.chatRequests();
  expect(recorded.length, 'exactly one upstream request').toBe(before + 1);
  return recorded.at(-1)!;
}
const chatUpstream = async (body: Record<string, unknown>) => (await upstreamOf('/api/chat', body)).body;
const user = (content = 'hi') => [{ role: 'user', content }];

describe('generate → chat messages', () => {
  it('system + prompt + a PNG and a JPEG → system message and image_url data-URL parts', async () => {
    const { body } = await upstreamOf('/api/generate', {
      model: 'openai/gpt-4o',
      system: 'You describe pictures.',
      prompt: 'What is in these?',
      images: [PNG_BASE64, JPEG_BASE64],
    });
    expect(body).toEqual({
      model: 'openai/gpt-4o',
      messages: [
        { role: 'system', content: 'You describe pictures.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
            { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG_BASE64}` } },
          ],
        },
      ],
      ...STREAM_FIELDS,
    });
  });

  it('chat message images become image_url parts after the text', async () => {
    const body = await chatUpstream({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'look', images: [JPEG_BASE64] }] });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${JPEG_BASE64}` } }] },
    ]);
  });
});

describe('options → sampling parameters', () => {
  it('maps every supported option, keeps temperature 0, ignores unknown options and num_ctx', async () => {
    const body = await chatUpstream({
      model: 'openai/gpt-4o',
      messages: user(),
      options: {
        temperature: 0,
        top_p: 0.9,
        top_k: 40,
        min_p: 0.05,
        seed: 42,
        stop: 'END',
        num_predict: 100,
        repeat_penalty: 1.1,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        num_ctx: 8192,
        num_gpu: 1,
        mirostat: 2,
        some_future_option: 'x',
      },
    });
    expect(body).toEqual({
      model: 'openai/gpt-4o',
      messages: user(),
      ...STREAM_FIELDS,
      temperature: 0,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      seed: 42,
      stop: ['END'],
      max_tokens: 100,
      repetition_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    });
  });

  it('a stop array is forwarded as an array', async () => {
    expect((await chatUpstream({ model: 'openai/gpt-4o', messages: user(), options: { stop: ['a', 'b'] } })).stop).toEqual(['a', 'b']);
  });

  it('num_predict -1 (and -2) sends no max_tokens', async () => {
    for (const numPredict of [-1, -2]) {
      const body = await chatUpstream({ model: 'openai/gpt-4o', messages: user(), options: { num_predict: numPredict } });
      expect(body).not.toHaveProperty('max_tokens');
    }
  });

  it('no options → no sampling parameters at all (no Ollama defaults injected)', async () => {
    expect(await chatUpstream({ model: 'openai/gpt-4o', messages: user() })).toEqual({ model: 'openai/gpt-4o', messages: user(), ...STREAM_FIELDS });
  });

  it('generate maps options the same way', async () => {
    const body = (await upstreamOf('/api/generate', { model: 'openai/gpt-4o', prompt: 'x', options: { temperature: 0.3, num_predict: 7 } })).body;
    expect(body).toMatchObject({ temperature: 0.3, max_tokens: 7 });
  });
});

describe('format → response_format', () => {
  it('format "json" → {type: "json_object"}', async () => {
    expect((await chatUpstream({ model: 'openai/gpt-4o', messages: user(), format: 'json' })).response_format).toEqual({ type: 'json_object' });
  });

  it('format <schema> → {type: "json_schema", json_schema: {name, schema}} with the schema untouched', async () => {
    const schema = { type: 'object', properties: { age: { type: 'integer', minimum: 0 } }, required: ['age'], additionalProperties: false };
    const format = (await chatUpstream({ model: 'openai/gpt-4o', messages: user(), format: schema })).response_format;
    expect(format.type).toBe('json_schema');
    expect(typeof format.json_schema.name).toBe('string');
    expect(format.json_schema.name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(format.json_schema.schema).toEqual(schema);
  });

  it('format "" or null → no response_format', async () => {
    for (const format of ['', null]) {
      expect(await chatUpstream({ model: 'openai/gpt-4o', messages: user(), format })).not.toHaveProperty('response_format');
    }
  });
});

describe('think → reasoning', () => {
  it.each([
    [true, { enabled: true }],
    [false, { enabled: false }],
    ['high', { effort: 'high' }],
    ['low', { effort: 'low' }],
    // OpenRouter rejected "max" (May 2026); its strongest level is "xhigh".
    ['max', { effort: 'xhigh' }],
  ] as const)('think %s → reasoning %o', async (think, reasoning) => {
    expect((await chatUpstream({ model: 'anthropic/claude-sonnet-4.5', messages: user(), think })).reasoning).toEqual(reasoning);
  });

  it('no think → no reasoning field', async () => {
    expect(await chatUpstream({ model: 'anthropic/claude-sonnet-4.5', messages: user() })).not.toHaveProperty('reasoning');
  });
});

describe('tools and tool calls', () => {
  const rawSchema = {
    type: 'object',
    properties: {
      city: { type: 'string', description: 'City name', minLength: 1, default: 'Paris' },
      units: { oneOf: [{ const: 'metric' }, { const: 'imperial' }] },
      when: { $ref: '#/$defs/day' },
    },
    required: ['city'],
    additionalProperties: false,
    $defs: { day: { type: 'string', format: 'date' } },
  };
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: rawSchema } }];

  it("forwards tools with the client's raw JSON schema", async () => {
    const body = await chatUpstream({ model: 'openai/gpt-4o', messages: user(), tools });
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: rawSchema } }]);
  });

  it('an empty tools array is not sent', async () => {
    expect(await chatUpstream({ model: 'openai/gpt-4o', messages: user(), tools: [] })).not.toHaveProperty('tools');
  });

  it('assistant tool_calls with object arguments → JSON-string arguments, ids kept; tool result paired by tool_call_id', async () => {
    const body = await chatUpstream({
      model: 'openai/gpt-4o',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_aaaa1111', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } },
            { id: 'call_bbbb2222', function: { index: 1, name: 'get_weather', arguments: { city: 'Oslo', units: 'metric' } } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_bbbb2222', content: '3°C' },
        { role: 'tool', tool_call_id: 'call_aaaa1111', content: '18°C' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_aaaa1111', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_bbbb2222', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","units":"metric"}' } },
        ],
      },
      { role: 'tool', content: '3°C', tool_call_id: 'call_bbbb2222', name: 'get_weather' },
      { role: 'tool', content: '18°C', tool_call_id: 'call_aaaa1111', name: 'get_weather' },
    ]);
  });

  it('tool results paired to call ids by tool_name', async () => {
    const body = await chatUpstream({
      model: 'openai/gpt-4o',
      tools: [...tools, { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }],
      messages: [
        { role: 'user', content: 'Weather and time?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_w', function: { name: 'get_weather', arguments: { city: 'Rome' } } },
            { id: 'call_t', function: { name: 'get_time', arguments: {} } },
          ],
        },
        { role: 'tool', tool_name: 'get_time', content: '12:00' },
        { role: 'tool', tool_name: 'get_weather', content: 'sunny' },
      ],
    });
    expect(body.messages.slice(2)).toEqual([
      { role: 'tool', content: '12:00', tool_call_id: 'call_t', name: 'get_time' },
      { role: 'tool', content: 'sunny', tool_call_id: 'call_w', name: 'get_weather' },
    ]);
  });

  it('tool results with neither id nor name (Home Assistant) are paired by position, with synthesized ids', async () => {
    const body = await chatUpstream({
      model: 'openai/gpt-4o',
      tools,
      messages: [
        { role: 'user', content: 'Lights?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { function: { name: 'get_weather', arguments: { city: 'A' } } },
            { function: { name: 'get_weather', arguments: { city: 'B' } } },
          ],
        },
        { role: 'tool', content: '{"result":"a"}' },
        { role: 'tool', content: '{"result":"b"}' },
      ],
    });
    const [, assistant, first, second] = body.messages;
    const ids = assistant.tool_calls.map((call: any) => call.id);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(assistant.tool_calls.map((call: any) => call.function.arguments)).toEqual(['{"city":"A"}', '{"city":"B"}']);
    expect(first).toEqual({ role: 'tool', content: '{"result":"a"}', tool_call_id: ids[0], name: 'get_weather' });
    expect(second).toEqual({ role: 'tool', content: '{"result":"b"}', tool_call_id: ids[1], name: 'get_weather' });
  });

  it('assistant thinking in history is sent as reasoning', async () => {
    const body = await chatUpstream({
      model: 'anthropic/claude-sonnet-4.5',
      messages: [
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: '4', thinking: 'Two plus two.' },
        { role: 'user', content: 'and 3+3?' },
      ],
    });
    expect(body.messages[1]).toEqual({ role: 'assistant', content: '4', reasoning: 'Two plus two.' });
  });
});

describe('model names, keep_alive, headers and stream flag', () => {
  it.each([
    ['openai/gpt-4o:latest', 'openai/gpt-4o'],
    ['OpenAI/GPT-4o', 'openai/gpt-4o'],
    ['gpt-4o', 'openai/gpt-4o'],
    ['deepseek/deepseek-chat-v3:free', 'deepseek/deepseek-chat-v3:free'],
  ])('model %s is sent upstream as %s', async (name, id) => {
    expect((await chatUpstream({ model: name, messages: user() })).model).toBe(id);
  });

  it.each([0.5, 300, -1, '5m', '300s', '1h30m', '-1m'])('keep_alive %s is accepted and not sent upstream', async (keepAlive) => {
    const body = await chatUpstream({ model: 'openai/gpt-4o', messages: user(), keep_alive: keepAlive });
    expect(body).not.toHaveProperty('keep_alive');
  });

  it("sends HTTP-Referer, X-Title and the gateway's own key, never the client's", async () => {
    const recorded = await upstreamOf(
      '/api/chat',
      { model: 'openai/gpt-4o', messages: user() },
      { authorization: 'Bearer secret-client-key', 'x-custom': 'nope' },
    );
    expect(recorded.headers.authorization).toBe(`Bearer ${FAKE_API_KEY}`);
    expect(recorded.headers['http-referer']).toMatch(/^https?:\/\//);
    expect(recorded.headers['x-title']).toBe('ollama-bridge');
    expect(recorded.headers['content-type']).toMatch(/^application\/json/);
    expect(recorded.headers['x-custom']).toBeUndefined();
    expect(JSON.stringify(recorded.headers)).not.toContain('secret-client-key');
  });

  it('always streams upstream, whatever the client asked', async () => {
    for (const stream of [false, true, undefined]) {
      const before = fake.chatRequests().length;
      const result = await postRaw(`${gateway.url}/api/chat`, { model: 'openai/gpt-4o', messages: user(), ...(stream === undefined ? {} : { stream }) });
      expect(result.status).toBe(200);
      expect(fake.chatRequests()[before]!.body.stream).toBe(true);
    }
    const before = fake.chatRequests().length;
    await postRaw(`${gateway.url}/api/generate`, { model: 'openai/gpt-4o', prompt: 'x', stream: false });
    expect(fake.chatRequests()[before]!.body.stream).toBe(true);
  });
});
