/**
 * The other /v1 routes: models (list and retrieve, ids with `/`), embeddings (float and
 * base64), and OpenAI-shaped errors for bad input, unknown routes and wrong methods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpenAiEmbeddingsResponse, OpenAiErrorResponse, OpenAiModel, OpenAiModelList } from '../../schemas/openai.js';
import { DEFAULT_MODELS, fakeEmbedding, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

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

async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, contentType = 'application/json') {
  const response = await request(`${gateway.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: text === '' ? undefined : JSON.parse(text) };
}

function expectOpenAiError(answer: { status: number; headers: Record<string, unknown>; json: any }, status: number, message?: string | RegExp): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  const body = OpenAiErrorResponse.parse(answer.json);
  if (message !== undefined) expect(body.error.message).toMatch(message);
}

describe('GET /v1/models', () => {
  it('lists every served model with its listed name, created time and namespace as owner', async () => {
    const answer = await call('GET', '/v1/models');
    expect(answer.status).toBe(200);
    const list = OpenAiModelList.parse(answer.json);
    expect(list.data.length).toBe(DEFAULT_MODELS.length);
    expect(list.data).toContainEqual({ id: 'openai/gpt-4o:latest', object: 'model', created: 1715558400, owned_by: 'openai' });
    expect(list.data).toContainEqual({ id: 'deepseek/deepseek-chat-v3:free', object: 'model', created: 1740000000, owned_by: 'deepseek' });
    expect(list.data).toContainEqual(expect.objectContaining({ id: 'openai/text-embedding-3-small:latest' }));
  });

  it('serves the same body for the same catalog snapshot', async () => {
    const [first, second] = await Promise.all([call('GET', '/v1/models'), call('GET', '/v1/models')]);
    expect(first.text).toBe(second.text);
  });
});

describe('GET /v1/models/{model}', () => {
  it('answers a model id with a slash, raw or percent-encoded, with the id as requested', async () => {
    for (const path of ['/v1/models/openai/gpt-4o', '/v1/models/openai%2Fgpt-4o']) {
      const answer = await call('GET', path);
      expect(answer.status).toBe(200);
      expect(OpenAiModel.parse(answer.json)).toEqual({ id: 'openai/gpt-4o', object: 'model', created: 1715558400, owned_by: 'openai' });
    }
  });

  it('resolves short names and tags like the chat routes', async () => {
    expect((await call('GET', '/v1/models/gpt-4o:latest')).json).toMatchObject({ id: 'gpt-4o:latest', owned_by: 'openai' });
    expect((await call('GET', '/v1/models/deepseek-chat-v3:free')).json).toMatchObject({ id: 'deepseek-chat-v3:free', owned_by: 'deepseek' });
  });

  it('answers an unknown model with a 404 in OpenAI shape', async () => {
    const answer = await call('GET', '/v1/models/nobody/nothing');
    expectOpenAiError(answer, 404, "model 'nobody/nothing' not found");
    expect(answer.json.error).toMatchObject({ type: 'not_found_error', code: 'model_not_found', param: null });
  });
});

describe('POST /v1/embeddings', () => {
  const norm = (vector: number[]) => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

  it('embeds a list of inputs in order, normalised, with usage and the model as requested', async () => {
    const answer = await call('POST', '/v1/embeddings', { model: 'text-embedding-3-small', input: ['first text', 'second'] });
    expect(answer.status).toBe(200);
    const body = OpenAiEmbeddingsResponse.parse(answer.json);
    expect(body.model).toBe('text-embedding-3-small');
    expect(body.data.map((item) => item.index)).toEqual([0, 1]);
    const first = body.data[0]!.embedding as number[];
    expect(norm(first)).toBeCloseTo(1, 6);
    const raw = fakeEmbedding('first text');
    expect(first[0]).toBeCloseTo(raw[0]! / norm(raw), 6);
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it('embeds a single string and honours dimensions', async () => {
    const answer = await call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'hello', dimensions: 4 });
    const body = OpenAiEmbeddingsResponse.parse(answer.json);
    expect(body.data).toHaveLength(1);
    expect(body.data[0]!.embedding).toHaveLength(4);
    expect(fake.requests.filter((record) => record.path === '/api/v1/embeddings').at(-1)!.body).toMatchObject({ input: ['hello'], dimensions: 4 });
  });

  it('encodes base64 as little-endian float32 of the same vector', async () => {
    const [floats, base64] = await Promise.all([
      call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'same' }),
      call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'same', encoding_format: 'base64' }),
    ]);
    const vector = floats.json.data[0].embedding as number[];
    const bytes = Buffer.from(base64.json.data[0].embedding as string, 'base64');
    expect(bytes.length).toBe(vector.length * 4);
    vector.forEach((value, index) => expect(bytes.readFloatLE(index * 4)).toBeCloseTo(value, 6));
  });

  it("rejects [] with 'invalid input' and an unknown encoding with Ollama's message", async () => {
    expectOpenAiError(await call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: [] }), 400, /^invalid input$/);
    expectOpenAiError(
      await call('POST', '/v1/embeddings', { model: 'openai/text-embedding-3-small', input: 'x', encoding_format: 'int8' }),
      400,
      "Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64'].",
    );
  });

  it('answers an unknown embedding model with a 404', async () => {
    expectOpenAiError(await call('POST', '/v1/embeddings', { model: 'nobody/embedder', input: 'x' }), 404);
  });
});

describe('errors in OpenAI shape', () => {
  it('answers bad JSON, a missing body, a missing model and empty messages with 400', async () => {
    expectOpenAiError(await call('POST', '/v1/chat/completions', '{"model": ', 'application/json'), 400);
    expectOpenAiError(await call('POST', '/v1/chat/completions', '{"model": ', 'text/plain'), 400, /invalid JSON/);
    expectOpenAiError(await call('POST', '/v1/chat/completions', '', 'application/json'), 400, 'missing request body');
    expectOpenAiError(await call('POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }), 400, 'model is required');
    expectOpenAiError(await call('POST', '/v1/chat/completions', { model: 'openai/gpt-4o', messages: [] }), 400, "[] is too short - 'messages'");
    const wrongType = await call('POST', '/v1/chat/completions', { model: 'openai/gpt-4o', messages: [{ role: 'robot', content: 'x' }] });
    expectOpenAiError(wrongType, 400, /messages\.0\.role/);
    expect(wrongType.json.error.type).toBe('invalid_request_error');
  });

  it('answers an unknown /v1 route with an OpenAI-shaped 404', async () => {
    expectOpenAiError(await call('GET', '/v1/nothing-here'), 404, /not an OpenAI-compatible route/);
    expectOpenAiError(await call('POST', '/v1/assistants', { model: 'x' }), 404);
  });

  it('answers a known /v1 route with the wrong method with an OpenAI-shaped 405', async () => {
    const answer = await call('GET', '/v1/chat/completions');
    expectOpenAiError(answer, 405);
    expect(answer.json.error.code).toBe('method_not_allowed');
  });

  it('leaves the Ollama routes in their own dialect', async () => {
    const answer = await call('GET', '/api/nothing');
    expect(answer.status).toBe(404);
    expect(answer.text).toBe('{"error":"404 page not found"}');
  });

  it('answers chat on an embedding model with a 400', async () => {
    expectOpenAiError(await call('POST', '/v1/chat/completions', { model: 'openai/text-embedding-3-small', messages: [{ role: 'user', content: 'x' }] }), 400, /does not support chat/);
  });
});
