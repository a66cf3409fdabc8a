import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OllamaChatResponse } from '../../schemas/ollama.js';

import { parseNdjson, useGatewayOverFakeOpenRouter } from '../helpers/gateway.js';

const setup = useGatewayOverFakeOpenRouter();


describe('smoke', () => {
  it('streams a chat from the fake OpenRouter as Ollama NDJSON', async () => {
    const response = await request(`${setup.gateway.url}/api/chat`, {
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

describe('upstream connections', () => {
  it('are reused after a finished answer, even when the upstream closes its response a little after [DONE]', async () => {
    setup.fake.script('openai/gpt-4.1', (body) => ({ sse: `data: {"choices":[{"delta":{"content":"${body.messages[0].content}"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`, endDelayMs: 30 }));
    const before = setup.fake.connectionCount();
    for (let index = 0; index < 6; index++) {
      const response = await request(`${setup.gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4.1', messages: [{ role: 'user', content: `n${index}` }] }) });
      const lines = parseNdjson(await response.body.text());
      expect(lines.at(-1)).toMatchObject({ done: true });
      // Let the gateway drain the end of the upstream response before the next request.
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(setup.fake.connectionCount() - before).toBeLessThanOrEqual(1);
  });

  it('are reused by the /v1 passthrough too', async () => {
    setup.fake.script('openai/gpt-4.1', (body) => ({ sse: `data: {"choices":[{"delta":{"content":"${body.messages[0].content}"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`, endDelayMs: 30 }));
    const before = setup.fake.connectionCount();
    for (let index = 0; index < 6; index++) {
      const response = await request(`${setup.gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'openai/gpt-4.1', stream: true, messages: [{ role: 'user', content: `n${index}` }] }) });
      const text = await response.body.text();
      expect(text).toContain(`"content":"n${index}"`);
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(setup.fake.connectionCount() - before).toBeLessThanOrEqual(1);
  });
});
