/**
 * `think` asked of a model without the thinking capability is Ollama's 400
 * (`"<model>" does not support thinking`), on /api/chat, /api/generate and /v1 (Ollama's knob),
 * before anything goes upstream. `think: false` is always fine; OpenAI's `reasoning_effort` is
 * not refused (OpenAI clients send it to any model).
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama } from 'ollama';
import { useGatewayOverFakeOpenRouter } from '../helpers/gateway.js';

const setup = useGatewayOverFakeOpenRouter();

async function post(path: string, body: unknown) {
  const response = await request(`${setup.gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: response.headers['content-type'], json: () => JSON.parse(text) };
}

const messages = [{ role: 'user', content: 'hi' }];


describe('think on a model without the thinking capability', () => {
  it.each([
    ['/api/chat', true, { messages, stream: false }],
    ['/api/chat', 'high', { messages }],
    ['/api/chat', true, { messages, stream: true }],
    ['/api/generate', true, { prompt: 'hi', stream: false }],
    ['/api/generate', 'low', { prompt: 'hi', stream: true }],
  ])('%s with think %j is a 400 in Ollama words, before going upstream', async (path, think, rest) => {
    const before = setup.fake.chatRequests().length;
    const answer = await post(path, { model: 'gpt-4o', think, ...rest });
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain('application/json');
    expect(answer.json()).toEqual({ error: '"gpt-4o" does not support thinking' });
    expect(setup.fake.chatRequests().length).toBe(before);
  });

  it('answers think: false (and no think) as usual', async () => {
    expect((await post('/api/chat', { model: 'openai/gpt-4o', think: false, messages, stream: false })).status).toBe(200);
    expect((await post('/api/generate', { model: 'openai/gpt-4o', think: false, prompt: 'hi', stream: false })).status).toBe(200);
    expect((await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false })).status).toBe(200);
  });

  it('lets a thinking model think', async () => {
    expect((await post('/api/chat', { model: 'anthropic/claude-sonnet-4.5', think: true, messages, stream: false })).status).toBe(200);
    expect((await post('/api/generate', { model: 'deepseek/deepseek-r1', think: 'high', prompt: 'hi', stream: false })).status).toBe(200);
  });

  it('is the error ollama-js reports', async () => {
    const client = new Ollama({ host: setup.gateway.url });
    await expect(client.chat({ model: 'openai/gpt-4o', think: true, messages })).rejects.toMatchObject({
      status_code: 400,
      error: '"openai/gpt-4o" does not support thinking',
    });
  });

  it('is a 400 in the OpenAI dialect for /v1 think, but reasoning_effort is passed on', async () => {
    const before = setup.fake.chatRequests().length;
    const refused = await post('/v1/chat/completions', { model: 'openai/gpt-4o', think: true, messages });
    expect(refused.status).toBe(400);
    expect(refused.json().error).toMatchObject({ message: '"openai/gpt-4o" does not support thinking', type: 'invalid_request_error' });
    expect(setup.fake.chatRequests().length).toBe(before);
    expect((await post('/v1/chat/completions', { model: 'openai/gpt-4o', think: false, messages })).status).toBe(200);
    expect((await post('/v1/chat/completions', { model: 'openai/gpt-4o', reasoning_effort: 'high', messages })).status).toBe(200);
    expect((await post('/v1/chat/completions', { model: 'anthropic/claude-sonnet-4.5', think: 'high', messages })).status).toBe(200);
  });
});
