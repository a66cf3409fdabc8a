/**
 * Discovery as real clients do it (issue 3): each client's sequence of calls against the
 * gateway on a real port, with the fake OpenRouter behind it.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OllamaChatResponse, OllamaPsResponse, OllamaShowResponse, OllamaTagsResponse } from '../../schemas/ollama.js';
import { DEFAULT_MODELS } from '../fakes/fake-openrouter.js';
import { parseNdjson, useGatewayOverFakeOpenRouter } from '../helpers/gateway.js';

const setup = useGatewayOverFakeOpenRouter();

async function call(method: 'GET' | 'HEAD' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await request(`${setup.gateway.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}


describe('catalog', () => {
  it('lists the OpenRouter catalog, embedding models included, in Ollama shapes', async () => {
    const tags = OllamaTagsResponse.parse((await call('GET', '/api/tags')).json());
    expect(tags.models.map((model) => model.name).sort()).toEqual(DEFAULT_MODELS.map((model) => (model.id.includes(':') ? model.id : `${model.id}:latest`)).sort());
    const gpt = tags.models.find((model) => model.name === 'openai/gpt-4o:latest')!;
    expect(gpt.model).toBe(gpt.name);
    expect(gpt.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(gpt.details).toMatchObject({ family: 'gpt', families: ['gpt'], format: '', parameter_size: '', quantization_level: '' });
    // Ollama 0.30's tags entry: the capabilities and the context length.
    expect(gpt.capabilities).toEqual(expect.arrayContaining(['completion']));
    expect(gpt.details.context_length).toBeGreaterThan(0);
    expect(tags.models.find((model) => model.name === 'meta-llama/llama-3.3-70b-instruct:latest')!.details.parameter_size).toBe('70B');
  });

  it('/api/version reports the Ollama release whose API the gateway serves (0.32.11)', async () => {
    expect((await call('GET', '/api/version')).json()).toEqual({ version: '0.32.11' });
  });

  it('asks OpenRouter for its catalog once, not per request', async () => {
    const before = setup.fake.requests.filter((record) => record.path.startsWith('/api/v1/models')).length;
    for (let index = 0; index < 5; index++) await call('GET', '/api/tags');
    expect(setup.fake.requests.filter((record) => record.path.startsWith('/api/v1/models')).length).toBe(before);
  });

  it('HEAD /api/tags answers without a body', async () => {
    const head = await call('HEAD', '/api/tags');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });
});

describe('/api/show', () => {
  it('answers with details, model_info, capabilities and strings', async () => {
    const show = OllamaShowResponse.parse((await call('POST', '/api/show', { model: 'anthropic/claude-sonnet-4.5' })).json());
    expect(show.capabilities).toEqual(['completion', 'tools', 'vision', 'thinking']);
    expect(show.model_info['general.architecture']).toBe('claude');
    expect(show.model_info['claude.context_length']).toBe(1000000);
    expect(show.model_info['general.basename']).toBe('Anthropic: Claude Sonnet 4.5');
    expect(show.parameters).toMatch(/^num_ctx\s+1000000$/);
  });

  it('accepts the legacy `name` field and reports embedding models as such', async () => {
    const show = OllamaShowResponse.parse((await call('POST', '/api/show', { name: 'openai/text-embedding-3-small' })).json());
    expect(show.capabilities).toEqual(['embedding']);
  });

  it('answers an unknown model with a 404 in Ollama words (normalised name)', async () => {
    const missing = await call('POST', '/api/show', { model: 'nobody/nothing' });
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: "model 'nobody/nothing:latest' not found" });
    const noModel = await call('POST', '/api/show', {});
    expect(noModel.status).toBe(400);
    expect(noModel.json()).toEqual({ error: 'model is required' });
  });
});

describe('client contracts', () => {
  it('VS Code Copilot: version ≥ 0.6.4, tags `model`, show per model with context length and capabilities', async () => {
    const version = (await call('GET', '/api/version')).json().version as string;
    const [major, minor, patch] = version.split('.').map((part) => Number.parseInt(part, 10));
    expect(major! > 0 || minor! > 6 || (minor === 6 && patch! >= 4)).toBe(true);
    const models = (await call('GET', '/api/tags')).json().models as Array<{ model: string }>;
    for (const { model } of models) {
      const show = await call('POST', '/api/show', { model }, { 'user-agent': 'GitHubCopilotChat/0.31.0' });
      expect(show.status).toBe(200);
      const body = show.json();
      expect(Array.isArray(body.capabilities)).toBe(true);
      expect(body.capabilities.includes('completion') || body.capabilities.includes('embedding')).toBe(true);
      const contextLength = body.model_info[`${body.model_info['general.architecture']}.context_length`];
      expect(Number.isInteger(contextLength) && contextLength > 0).toBe(true);
      // Copilot shows general.basename as the model's name: the one it asked for.
      expect(body.model_info['general.basename']).toBe(model);
    }
  });

  it('JetBrains AI Assistant: GET /, tags, show, then a streamed /api/chat', async () => {
    expect((await call('GET', '/')).text).toBe('Ollama is running');
    const [first] = (await call('GET', '/api/tags')).json().models as Array<{ name: string }>;
    const show = await call('POST', '/api/show', { model: 'openai/gpt-4o:latest' });
    expect(show.json().model_info).toHaveProperty('gpt.context_length', 128000);
    expect(first).toBeDefined();
    const chat = await call('POST', '/api/chat', { model: 'openai/gpt-4o:latest', messages: [{ role: 'user', content: 'hello' }], stream: true });
    const lines = parseNdjson(chat.text);
    for (const line of lines) OllamaChatResponse.parse(line);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('Open WebUI: appends :latest to untagged names and needs an exact match in /api/tags', async () => {
    const version = (await call('GET', '/api/version')).json().version as string;
    expect(version.replace(/^v/, '').replace(/-.*/, '').split('.').every((part) => /^\d+$/.test(part))).toBe(true);
    const names = new Set(((await call('GET', '/api/tags')).json().models as Array<{ model: string }>).map((model) => model.model));
    for (const name of names) expect(name).toContain(':');
    const chosen = 'openai/gpt-4o';
    const withTag = chosen.includes(':') ? chosen : `${chosen}:latest`;
    expect(names.has(withTag)).toBe(true);
    const chat = await call('POST', '/api/chat', { model: withTag, messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect(chat.json()).toMatchObject({ model: withTag, done: true, message: { role: 'assistant' } });
  });

  it('Home Assistant: polls tags and ps, and sends tool results with neither id nor name', async () => {
    OllamaTagsResponse.parse((await call('GET', '/api/tags')).json());
    OllamaPsResponse.parse((await call('GET', '/api/ps')).json());
    setup.fake.script('meta-llama/llama-3.3-70b-instruct', { sse: 'data: {"choices":[{"delta":{"content":"It is 22°C."}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n' });
    const chat = await call('POST', '/api/chat', {
      model: 'meta-llama/llama-3.3-70b-instruct',
      stream: true,
      keep_alive: '300s',
      options: { num_ctx: 8192 },
      tools: [{ type: 'function', function: { name: 'get_temperature', parameters: { type: 'object', properties: {} } } }],
      messages: [
        { role: 'user', content: 'how warm is it?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_temperature', arguments: {} } }] },
        { role: 'tool', content: '{"temperature": 22}' },
      ],
    });
    expect(chat.status).toBe(200);
    const upstream = setup.fake.chatRequests().at(-1)!.body;
    const callId = upstream.messages[1].tool_calls[0].id;
    expect(callId).toMatch(/^call_/);
    expect(upstream.messages[2]).toEqual({ role: 'tool', content: '{"temperature": 22}', tool_call_id: callId, name: 'get_temperature' });
    const ps = OllamaPsResponse.parse((await call('GET', '/api/ps')).json());
    expect(ps.models.map((model) => model.name)).toContain('meta-llama/llama-3.3-70b-instruct:latest');
  });

  it('n8n: an empty `Authorization: Bearer ` header is not rejected', async () => {
    const tags = await call('GET', '/api/tags', undefined, { authorization: 'Bearer ' });
    expect(tags.status).toBe(200);
  });

  it('the ollama CLI: HEAD /, show, a preload chat with no messages answered `load`, then a streamed chat', async () => {
    expect((await call('HEAD', '/')).status).toBe(200);
    const show = (await call('POST', '/api/show', { model: 'deepseek/deepseek-r1' })).json();
    expect(show.capabilities).toContain('thinking');
    const preload = await call('POST', '/api/chat', { model: 'deepseek/deepseek-r1', messages: [] });
    expect(preload.headers['content-type']).toContain('application/json');
    expect(preload.json()).toMatchObject({ model: 'deepseek/deepseek-r1', done: true, done_reason: 'load', message: { role: 'assistant', content: '' } });
    const chat = parseNdjson((await call('POST', '/api/chat', { model: 'deepseek/deepseek-r1', messages: [{ role: 'user', content: 'why' }], think: true })).text);
    expect(chat.at(-1)).toMatchObject({ done: true });
    expect(setup.fake.chatRequests().at(-1)!.body.reasoning).toEqual({ enabled: true });
  });
});

describe('embeddings', () => {
  it('/api/embed returns L2-normalised vectors in input order with token counts', async () => {
    const answer = (await call('POST', '/api/embed', { model: 'openai/text-embedding-3-small', input: ['alpha', 'beta'] })).json();
    expect(answer.model).toBe('openai/text-embedding-3-small');
    expect(answer.embeddings).toHaveLength(2);
    for (const vector of answer.embeddings as number[][]) expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    expect(answer.embeddings[0]).not.toEqual(answer.embeddings[1]);
    expect(answer.prompt_eval_count).toBe(2);
    const single = (await call('POST', '/api/embed', { model: 'openai/text-embedding-3-small', input: 'alpha' })).json();
    expect(single.embeddings[0]).toEqual(answer.embeddings[0]);
  });

  it('/api/embed honours dimensions, and answers empty input without calling upstream', async () => {
    const answer = (await call('POST', '/api/embed', { model: 'openai/text-embedding-3-small', input: 'alpha', dimensions: 4 })).json();
    expect(answer.embeddings[0]).toHaveLength(4);
    expect(setup.fake.requests.at(-1)!.body.dimensions).toBe(4);
    expect((await call('POST', '/api/embed', { model: 'openai/text-embedding-3-small', input: [] })).json()).toEqual({ model: 'openai/text-embedding-3-small', embeddings: [] });
    const bad = await call('POST', '/api/embed', { model: 'openai/text-embedding-3-small', input: 5 });
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid input type' });
  });

  it('/api/embeddings keeps the legacy shape', async () => {
    const answer = (await call('POST', '/api/embeddings', { model: 'openai/text-embedding-3-small', prompt: 'alpha' })).json();
    expect(Object.keys(answer)).toEqual(['embedding']);
    expect(answer.embedding).toHaveLength(8);
    const missing = await call('POST', '/api/embeddings', { model: 'nobody/nothing', prompt: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: 'model "nobody/nothing" not found, try pulling it first' });
  });

  it('a chat with an embedding model is refused as Ollama refuses it', async () => {
    const chat = await call('POST', '/api/chat', { model: 'openai/text-embedding-3-small', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(400);
    expect(chat.json()).toEqual({ error: '"openai/text-embedding-3-small" does not support chat' });
  });
});
