import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OllamaChatResponse } from '../../schemas/ollama.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { parseNdjson, startGateway, type TestGateway } from '../helpers/gateway.js';

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

describe('smoke', () => {
  it('streams a chat from the fake OpenRouter as Ollama NDJSON', async () => {
    const response = await request(`${gateway.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi there' }] }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-ndjson');
    const lines = parseNdjson(await response.body.text());
    for (const line of lines) OllamaChatResponse.parse(line);
    expect(lines.map((line) => line.message.content).join('')).toBe('Echo from openai/gpt-4o: hi there');
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 8, eval_count: 5 });
  });
});
