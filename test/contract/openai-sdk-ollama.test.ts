/**
 * The real `openai` npm client against the gateway fronting a real (fake) Ollama: the
 * OpenAI front door translating to Ollama's native API (issue 4, second backend).
 */
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAiChatCompletion, OpenAiChatCompletionChunk, OpenAiEmbeddingsResponse } from '../../schemas/openai.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let ollama: FakeOllama;
let gateway: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  ollama = await startFakeOllama();
  // No OpenRouter key: the gateway is a pure front for the local Ollama.
  gateway = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
});

describe('openai-node over an upstream Ollama', () => {
  it('lists the Ollama models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['llama3.2:latest', 'qwen3:8b', 'all-minilm:latest']));
  });

  it('chats without streaming, with usage from Ollama\'s counts', async () => {
    const completion = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi there' }], max_tokens: 50 });
    OpenAiChatCompletion.parse(completion);
    expect(completion.model).toBe('llama3.2');
    expect(completion.choices[0]!.message.content).toContain('hi there');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
    expect(ollama.requestsTo('/api/chat').at(-1)!.body).toMatchObject({ model: 'llama3.2:latest', stream: true, options: { num_predict: 50 } });
  });

  it('streams with the role first, a finish chunk, the usage chunk when asked, then [DONE]', async () => {
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) {
      OpenAiChatCompletionChunk.parse(chunk);
      chunks.push(chunk);
    }
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.slice(1).every((chunk) => chunk.choices[0]?.delta.role === undefined)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toContain('stream please');
    expect(chunks.at(-2)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('returns tool calls with string arguments, ids and the tool_calls finish reason', async () => {
    const completion = await client.chat.completions.create({
      model: 'qwen3:8b',
      messages: [{ role: 'user', content: 'Paris' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    });
    const call = completion.choices[0]!.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/\S/);
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('embeds through Ollama\'s /api/embed', async () => {
    const answer = await client.embeddings.create({ model: 'all-minilm', input: ['alpha', 'beta'] });
    OpenAiEmbeddingsResponse.parse(answer);
    expect(answer.data.map((item) => item.index)).toEqual([0, 1]);
    expect(answer.data[0]!.embedding.length).toBeGreaterThan(0);
  });

  it('throws APIError with the status for an unknown model, and for an Ollama error', async () => {
    const missing = await client.chat.completions.create({ model: 'nope:1b', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(APIError);
    expect((missing as APIError).status).toBe(404);
    ollama.script('llama3.2:latest', { status: 500, body: { error: 'model runner has unexpectedly stopped' } });
    const failed = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    ollama.clearScripts();
    expect((failed as APIError).status).toBe(500);
    expect((failed as APIError).message).toContain('model runner has unexpectedly stopped');
  });

  it('a mid-stream Ollama error makes the stream throw', async () => {
    ollama.script('llama3.2:latest', { reply: 'one two three four', errorAfter: { lines: 2, message: 'an error was encountered while running the model' } });
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: true });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((error: unknown) => error);
    ollama.clearScripts();
    expect(failure).toBeInstanceOf(Error);
    expect(String((failure as Error).message)).toContain('an error was encountered while running the model');
    expect(received.join('')).not.toBe('');
  });

  it('aborting the request reaches the upstream Ollama', async () => {
    ollama.script('llama3.2:latest', { reply: Array.from({ length: 60 }, (_, index) => `w${index}`).join(' '), delayMs: 30 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'llama3.2', messages: [{ role: 'user', content: 'long' }], stream: true }, { signal: controller.signal });
    let seen = 0;
    await (async () => {
      for await (const chunk of stream) {
        if ((chunk.choices[0]?.delta.content ?? '') !== '' && ++seen === 2) controller.abort();
      }
    })().catch(() => undefined);
    const record = ollama.requestsTo('/api/chat').at(-1)!;
    await Promise.race([record.settled, new Promise((resolve) => setTimeout(resolve, 2000))]);
    ollama.clearScripts();
    expect(record.aborted).toBe(true);
  });
});
