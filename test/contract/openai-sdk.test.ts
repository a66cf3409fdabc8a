/**
 * The real `openai` npm client (6.x) against the gateway and the fake OpenRouter: what
 * LangChain, LlamaIndex, VS Code Copilot and every OpenAI SDK user relies on. Every chunk
 * and object the client receives is also checked against schemas/openai.ts.
 */
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OpenAiChatCompletion,
  OpenAiChatCompletionChunk,
  OpenAiCompletion,
  OpenAiEmbeddingsResponse,
  OpenAiModel,
} from '../../schemas/openai.js';
import { DEFAULT_MODELS, startFakeOpenRouter, textStream, type FakeModel, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const SLOW: FakeModel = { id: 'sdk/slow', context_length: 8192, tools: true, created: 1600000000 };
const LIMITED: FakeModel = { id: 'sdk/limited', context_length: 8192, created: 1600000000 };

let fake: FakeOpenRouter;
let gateway: TestGateway;
let client: OpenAI;

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

beforeAll(async () => {
  fake = await startFakeOpenRouter({ models: [...DEFAULT_MODELS, SLOW, LIMITED] });
  fake.script(SLOW.id, { sse: textStream(Array.from({ length: 100 }, (_, index) => `w${index} `)), delayMs: 30 });
  gateway = await startGateway(fake.baseUrl);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});
afterAll(async () => {
  gateway?.app.server.closeAllConnections();
  await gateway?.close();
  await fake?.close();
});

describe('openai-node against the gateway', () => {
  it('lists models and retrieves one whose id has a slash', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      OpenAiModel.parse(model);
      ids.push(model.id);
    }
    expect(ids).toContain('openai/gpt-4o:latest');
    const model = await client.models.retrieve('openai/gpt-4o');
    expect(model).toMatchObject({ id: 'openai/gpt-4o', object: 'model', owned_by: 'openai' });
  });

  it('chats without streaming', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }] });
    OpenAiChatCompletion.parse(completion);
    expect(completion.choices[0]!.message.content).toBe('Echo from openai/gpt-4o: hi there');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
  });

  it('streams a chat with include_usage: text, finish reason and usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      OpenAiChatCompletionChunk.parse(chunk);
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo from openai/gpt-4o: stream please');
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 13, completion_tokens: 5, total_tokens: 18 });
  });

  it('streams tool calls that the SDK helper assembles', async () => {
    const runner = client.chat.completions.stream({ model: 'fixture/tool-call', messages: [{ role: 'user', content: 'weather in Paris?' }], tools: [weatherTool] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual([
      expect.objectContaining({ id: 'call_9fK2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }),
    ]);
  });

  it('sees reasoning under both field names, streaming and not', async () => {
    const stream = await client.chat.completions.create({ model: 'fixture/reasoning', messages: [{ role: 'user', content: '2+2?' }], stream: true });
    let reasoning = '';
    let reasoningContent = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { reasoning?: string | null; reasoning_content?: string | null } | undefined;
      reasoning += delta?.reasoning ?? '';
      reasoningContent += delta?.reasoning_content ?? '';
    }
    expect(reasoning).toBe('Two plus two');
    expect(reasoningContent).toBe(reasoning);

    const completion = await client.chat.completions.create({ model: 'fixture/reasoning', messages: [{ role: 'user', content: '2+2?' }] });
    const message = completion.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning?: string; reasoning_content?: string };
    expect(message.reasoning).toBe('Two plus two');
    expect(message.reasoning_content).toBe('Two plus two');
  });

  it('completes a legacy prompt', async () => {
    const completion = await client.completions.create({ model: 'gpt-4o', prompt: 'Say hi' });
    OpenAiCompletion.parse(completion);
    expect(completion.choices[0]!.text).toBe('Echo from openai/gpt-4o: Say hi');
  });

  it('embeds text, as floats and as base64 (which the SDK decodes by default)', async () => {
    const embeddings = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['one', 'two'], encoding_format: 'float' });
    OpenAiEmbeddingsResponse.parse(embeddings);
    expect(embeddings.data.map((item) => item.index)).toEqual([0, 1]);
    const decoded = await client.embeddings.create({ model: 'openai/text-embedding-3-small', input: ['one', 'two'] });
    expect(decoded.data[0]!.embedding.length).toBe(embeddings.data[0]!.embedding.length);
    decoded.data[0]!.embedding.forEach((value, index) => expect(value).toBeCloseTo(embeddings.data[0]!.embedding[index]!, 6));
  });

  it('throws APIError with the status for errors before the first byte', async () => {
    const unknown = await client.chat.completions.create({ model: 'nobody/nothing', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(APIError);
    expect((unknown as APIError).status).toBe(404);
    expect((unknown as APIError).message).toMatch(/model 'nobody\/nothing' not found/);
    expect((unknown as APIError).type).toBe('not_found_error');

    fake.script(LIMITED.id, { status: 429, body: { error: { message: 'Rate limit exceeded', code: 429 } } });
    const limited = await client.chat.completions.create({ model: LIMITED.id, messages: [{ role: 'user', content: 'x' }], stream: true }).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(APIError);
    expect((limited as APIError).status).toBe(429);

    const missing = await client.models.retrieve('nobody/nothing').catch((error: unknown) => error);
    expect((missing as APIError).status).toBe(404);
  });

  it('makes the stream iterator throw on an error after the first byte', async () => {
    const stream = await client.chat.completions.create({ model: 'fixture/error-mid-stream', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    expect(text).toBe('partial answ');
    expect(failure).toBeInstanceOf(APIError);
    expect((failure as APIError).message).toMatch(/Provider disconnected unexpectedly/);

    const truncated = await client.chat.completions.create({ model: 'fixture/truncated', messages: [{ role: 'user', content: 'x' }], stream: true });
    await expect((async () => {
      for await (const chunk of truncated) void chunk;
    })()).rejects.toBeInstanceOf(APIError);
  });

  it('propagates an AbortController abort to the upstream request', async () => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: SLOW.id, messages: [{ role: 'user', content: 'count' }], stream: true }, { signal: controller.signal });
    let chunks = 0;
    for await (const chunk of stream) {
      void chunk;
      if (++chunks === 3) controller.abort();
    }
    const record = fake.chatRequests().filter((entry) => entry.body?.model === SLOW.id).at(-1)!;
    await Promise.race([record.settled, new Promise((resolve) => setTimeout(resolve, 3000))]);
    expect(record.aborted).toBe(true);
  });
});
