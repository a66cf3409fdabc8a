/**
 * Contract: the real `ollama` npm client (ollama-js 0.6.4) against the gateway, reading back
 * what applications built on it read. Everything it returns is also checked against the
 * response schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ollama } from 'ollama';
import {
  OllamaChatResponse,
  OllamaEmbedResponse,
  OllamaGenerateResponse,
  OllamaPsResponse,
  OllamaShowResponse,
  OllamaTagsResponse,
} from '../../schemas/ollama.js';
import {
  DEFAULT_MODELS,
  SSE_DONE,
  fakeEmbedding,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  type FakeOpenRouter,
} from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { settlesWithin, waitFor } from '../helpers/ollama-checks.js';

const JSON_MODEL = 'json/model';
const SLOW_MODEL = 'slow/model';
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let client: Ollama;

beforeAll(async () => {
  fake = await startFakeOpenRouter({
    models: [
      ...DEFAULT_MODELS,
      { id: JSON_MODEL, context_length: 8192, created: 1700000000 },
      { id: SLOW_MODEL, context_length: 8192, created: 1700000000 },
    ],
  });
  gateway = await startGateway(fake.baseUrl);
  client = new Ollama({ host: gateway.url });
  fake.script(JSON_MODEL, { sse: textStream(['{"age":', ' 22', '}']) });
  let slow = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 20; index++) slow += sseChunk({ role: 'assistant', content: `w${index} ` });
  fake.script(SLOW_MODEL, { sse: slow + sseChunk({ role: 'assistant', content: '' }, 'stop') + SSE_DONE, delayMs: 150 });
});
afterAll(async () => {
  // ollama-js (Node's fetch) can leave a connection on which it never sent a request (seen after
  // abort()); app.close() alone would wait for it, so every connection is cut first.
  gateway?.app.server.closeAllConnections();
  await gateway?.close();
  await fake?.close();
});

const lastUpstreamBody = () => fake.chatRequests().at(-1)!.body;

function normalized(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

/** ollama-js's ResponseError is not exported; it is recognised by name and status_code. */
async function responseError(promise: Promise<unknown>): Promise<{ name: string; error: string; status_code: number }> {
  try {
    await promise;
  } catch (error) {
    return error as { name: string; error: string; status_code: number };
  }
  throw new Error('expected the call to fail');
}

describe('ollama-js discovery', () => {
  it('version()', async () => {
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('list() gives tagged names and the tags schema', async () => {
    const list = await client.list();
    OllamaTagsResponse.parse(list);
    const names = list.models.map((model) => model.name);
    expect(names).toContain('openai/gpt-4o:latest');
    expect(names).toContain('deepseek/deepseek-chat-v3:free');
    const gpt = list.models.find((model) => model.name === 'openai/gpt-4o:latest')!;
    expect(typeof gpt.details.family).toBe('string');
    expect(typeof gpt.details.parameter_size).toBe('string');
  });

  it('show() gives capabilities and model_info context length', async () => {
    const show = await client.show({ model: 'openai/gpt-4o' });
    OllamaShowResponse.parse(show);
    expect(show.capabilities).toEqual(expect.arrayContaining(['completion', 'tools', 'vision']));
    const info = show.model_info as unknown as Record<string, unknown>;
    const architecture = info['general.architecture'];
    expect(typeof architecture).toBe('string');
    expect(info[`${architecture as string}.context_length`]).toBe(128000);
    const thinking = await client.show({ model: 'anthropic/claude-sonnet-4.5' });
    expect(thinking.capabilities).toContain('thinking');
    const embedding = await client.show({ model: 'openai/text-embedding-3-small' });
    expect(embedding.capabilities).toEqual(['embedding']);
  });

  it('ps() lists a model once it has been used', async () => {
    await client.chat({ model: 'meta-llama/llama-3.3-70b-instruct', messages: [{ role: 'user', content: 'hi' }] });
    const ps = await client.ps();
    OllamaPsResponse.parse(ps);
    expect(ps.models.map((model) => model.name)).toContain('meta-llama/llama-3.3-70b-instruct:latest');
    const entry = ps.models.find((model) => model.name === 'meta-llama/llama-3.3-70b-instruct:latest')!;
    expect(Date.parse(entry.expires_at as unknown as string)).toBeGreaterThan(Date.now());
  });
});

describe('ollama-js chat and generate', () => {
  it('chat, non-streaming', async () => {
    const response = await client.chat({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hello there' }] });
    OllamaChatResponse.parse(response);
    expect(response.message).toEqual({ role: 'assistant', content: 'Echo from openai/gpt-4o: hello there' });
    expect(response.done).toBe(true);
    expect(response.done_reason).toBe('stop');
    expect(response.eval_count).toBeGreaterThan(0);
    expect(lastUpstreamBody().stream).toBe(true);
  });

  it('chat, streaming', async () => {
    const stream = await client.chat({ model: 'OpenAI/GPT-4o', messages: [{ role: 'user', content: 'stream this please' }], stream: true });
    const parts = [];
    for await (const part of stream) {
      OllamaChatResponse.parse(part);
      parts.push(part);
    }
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.map((part) => part.message.content).join('')).toBe('Echo from openai/gpt-4o: stream this please');
    expect(parts.every((part) => part.model === 'OpenAI/GPT-4o')).toBe(true);
    expect(parts.at(-1)!.done).toBe(true);
  });

  it('generate, streaming and not', async () => {
    const single = await client.generate({ model: 'openai/gpt-4o', prompt: 'say something', system: 'be brief' });
    OllamaGenerateResponse.parse(single);
    expect(single.response).toBe('Echo from openai/gpt-4o: say something');
    expect(lastUpstreamBody().messages[0]).toEqual({ role: 'system', content: 'be brief' });
    const stream = await client.generate({ model: 'fixture/reasoning', prompt: '2+2?', stream: true });
    let response = '';
    let thinking = '';
    for await (const part of stream) {
      OllamaGenerateResponse.parse(part);
      response += part.response;
      thinking += part.thinking ?? '';
    }
    expect(response).toBe('4');
    expect(thinking).toBe('Two plus two is four.');
  });

  it('tools: arguments arrive as an object (message.tool_calls[0].function.arguments.city)', async () => {
    const tools = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ];
    const response = await client.chat({ model: 'fixture/tool-call', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
    OllamaChatResponse.parse(response);
    expect(response.message.tool_calls?.[0]?.function.name).toBe('get_weather');
    expect(response.message.tool_calls?.[0]?.function.arguments.city).toBe('Paris');
    expect(lastUpstreamBody().tools[0].function.parameters).toEqual(tools[0]!.function.parameters);

    const stream = await client.chat({ model: 'fixture/tool-call', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, stream: true });
    const calls = [];
    for await (const part of stream) calls.push(...(part.message.tool_calls ?? []));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.function.arguments.city).toBe('Paris');

    // The follow-up turn as an ollama-js app sends it: the call back, then the tool result.
    await client.chat({
      model: 'openai/gpt-4o',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: response.message.tool_calls! },
        { role: 'tool', tool_name: 'get_weather', content: '18°C' },
      ],
    });
    const followUp = lastUpstreamBody().messages;
    expect(followUp[1].tool_calls[0]).toEqual({ id: 'call_9fK2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(followUp[2]).toEqual({ role: 'tool', content: '18°C', tool_call_id: 'call_9fK2', name: 'get_weather' });
  });

  it('think: true gives message.thinking separate from content', async () => {
    const response = await client.chat({ model: 'fixture/reasoning', messages: [{ role: 'user', content: '2+2?' }], think: true });
    OllamaChatResponse.parse(response);
    expect(response.message.thinking).toBe('Two plus two is four.');
    expect(response.message.content).toBe('4');
    expect(lastUpstreamBody().reasoning).toEqual({ enabled: true });
  });

  it('format: a JSON schema → JSON.parse(message.content)', async () => {
    const schema = { type: 'object', properties: { age: { type: 'integer' } }, required: ['age'] };
    const response = await client.chat({ model: JSON_MODEL, messages: [{ role: 'user', content: 'How old?' }], format: schema });
    expect(JSON.parse(response.message.content)).toEqual({ age: 22 });
    expect(lastUpstreamBody().response_format).toMatchObject({ type: 'json_schema', json_schema: { schema } });
  });

  it('images: Uint8Array input reaches the upstream as a data URL', async () => {
    const bytes = new Uint8Array(Buffer.from(PNG_BASE64, 'base64'));
    await client.chat({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'What is this?', images: [bytes] }] });
    expect(lastUpstreamBody().messages[0].content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
    ]);
    await client.generate({ model: 'openai/gpt-4o', prompt: 'And this?', images: [bytes] });
    expect(lastUpstreamBody().messages.at(-1).content[1]).toEqual({ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } });
  });
});

describe('ollama-js embeddings', () => {
  it('embed(): L2-normalised vectors in input order, prompt_eval_count', async () => {
    const input = ['first text', 'the second one here', 'x'];
    const response = await client.embed({ model: 'openai/text-embedding-3-small', input });
    OllamaEmbedResponse.parse(response);
    expect(response.model).toBe('openai/text-embedding-3-small');
    expect(response.embeddings).toHaveLength(3);
    response.embeddings.forEach((vector, index) => {
      expect(Math.hypot(...vector)).toBeCloseTo(1, 10);
      const expected = normalized(fakeEmbedding(input[index]!));
      vector.forEach((value, position) => expect(value).toBeCloseTo(expected[position]!, 10));
    });
    expect(response.prompt_eval_count).toBe(2 + 4 + 1);
    const upstream = fake.requests.filter((record) => record.path === '/api/v1/embeddings').at(-1)!;
    expect(upstream.body).toEqual({ model: 'openai/text-embedding-3-small', input, encoding_format: 'float' });
  });

  it('embed() with dimensions truncates and re-normalises', async () => {
    const response = await client.embed({ model: 'openai/text-embedding-3-small', input: 'short', dimensions: 4 });
    expect(response.embeddings).toHaveLength(1);
    expect(response.embeddings[0]).toHaveLength(4);
    expect(Math.hypot(...response.embeddings[0]!)).toBeCloseTo(1, 10);
  });

  it('embeddings() (legacy): one vector', async () => {
    const response = await client.embeddings({ model: 'openai/text-embedding-3-small', prompt: 'legacy prompt' });
    expect(response.embedding).toHaveLength(8);
    expect(response.embedding).toEqual(fakeEmbedding('legacy prompt'));
  });
});

describe('ollama-js errors and abort', () => {
  it('an unknown model → ResponseError with status_code 404', async () => {
    const error = await responseError(client.chat({ model: 'nope/unknown', messages: [{ role: 'user', content: 'hi' }] }));
    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.error).toBe("model 'nope/unknown' not found");
    const streamed = await responseError(client.chat({ model: 'nope/unknown', messages: [{ role: 'user', content: 'hi' }], stream: true }));
    expect(streamed.status_code).toBe(404);
    const show = await responseError(client.show({ model: 'nope/unknown' }));
    expect(show.status_code).toBe(404);
    const embed = await responseError(client.embed({ model: 'nope/unknown', input: 'x' }));
    expect(embed.status_code).toBe(404);
  });

  it('a mid-stream error makes the iterator throw with the upstream message', async () => {
    const stream = await client.chat({ model: 'fixture/error-mid-stream', messages: [{ role: 'user', content: 'go' }], stream: true });
    const content: string[] = [];
    await expect(
      (async () => {
        for await (const part of stream) content.push(part.message.content);
      })(),
    ).rejects.toThrow('Provider disconnected unexpectedly');
    expect(content.join('')).toBe('partial answ');
  });

  it('a truncated upstream stream makes the iterator throw the gateway error, not "Did not receive done"', async () => {
    const stream = await client.chat({ model: 'fixture/truncated', messages: [{ role: 'user', content: 'go' }], stream: true });
    const failure = (async () => {
      for await (const part of stream) void part;
    })();
    await expect(failure).rejects.toThrow(/OpenRouter/);
  });

  it('an upstream 429 → ResponseError with status_code 429', async () => {
    const error = await responseError(client.chat({ model: 'fixture/error-legacy', messages: [{ role: 'user', content: 'go' }] }));
    expect(error.status_code).toBe(429);
    expect(error.error).toContain('Rate limit exceeded');
  });

  it('abort() stops the stream and the upstream request', async () => {
    const before = fake.chatRequests().length;
    const stream = await client.chat({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'count' }], stream: true });
    const parts: string[] = [];
    const consume = (async () => {
      for await (const part of stream) {
        parts.push(part.message.content);
        if (parts.length === 2) client.abort();
      }
    })();
    await expect(consume).rejects.toThrow(/abort/i);
    expect(parts).toEqual(['w0 ', 'w1 ']);
    await waitFor(() => fake.chatRequests().length > before);
    const upstream = fake.chatRequests()[before]!;
    expect(await settlesWithin(upstream.settled, 2000)).toBe(true);
    expect(upstream.aborted).toBe(true);
  });
});
