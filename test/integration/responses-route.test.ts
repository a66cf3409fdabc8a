/**
 * /v1/responses over real HTTP, as bytes: the request Codex sends (its item and tool types,
 * `include`, `store: false`, reasoning items with encrypted content) answered as SSE events
 * whatever the upstream's network cuts; every refusal of the route (bad JSON, wrong method,
 * unknown route, the shared hooks' 401, the stateless 400s) in OpenAI's envelope.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixture, startFakeOpenRouter, type FakeOpenRouter, type WriteMode } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { responsesEvents } from '../helpers/sse.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let keyed: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  gateway = await startGateway(fake.baseUrl);
  keyed = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'codex-key' });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), keyed?.close()]);
  await fake?.close();
});

async function send(method: string, path: string, options: { url?: string; headers?: Record<string, string>; raw?: string; body?: unknown } = {}) {
  const response = await request(`${options.url ?? gateway.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...options.headers },
    ...(method === 'POST' ? { body: options.raw ?? JSON.stringify(options.body) } : {}),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}


const OPENAI_ERROR = { error: { message: expect.any(String), type: expect.any(String), param: null, code: expect.anything() } };

/** A turn as Codex sends it (codex-rs ResponsesApiRequest): tools it runs itself, items from the turn before. */
const codexTurn = {
  model: 'fixture/reasoning',
  instructions: 'You are Codex, a coding agent.',
  input: [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>workspace-write</permissions>' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Run ls.' }], content: null, encrypted_content: 'gAAAA-opaque' },
    { type: 'function_call', id: 'fc_1', name: 'shell', arguments: '{"command":["ls"]}', call_id: 'call_ls' },
    { type: 'function_call_output', call_id: 'call_ls', output: 'README.md\nsrc' },
    { type: 'local_shell_call', call_id: 'call_x', status: 'completed', action: { type: 'exec', command: ['pwd'] } },
  ],
  tools: [
    { type: 'function', name: 'shell', description: 'Runs a command', strict: false, parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] } },
    { type: 'web_search' },
    { type: 'custom', name: 'apply_patch', description: 'Edit files', format: { type: 'grammar', syntax: 'lark', definition: 'start: /.+/' } },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: false,
  reasoning: { effort: 'medium', summary: 'auto' },
  store: false,
  stream: true,
  include: ['reasoning.encrypted_content'],
  prompt_cache_key: '3f1c0d7e-session',
  text: { verbosity: 'low' },
};

describe('POST /v1/responses streamed', () => {
  const writeModes: Array<[string, WriteMode]> = [
    ['one event per write', 'event'],
    ['one byte per write', 'bytes'],
    ['all glued in one write', 'glued'],
    ['random cuts, seed 7', { randomSeed: 7, maxPiece: 9 }],
  ];
  for (const [label, writeMode] of writeModes) {
    it(`answers Codex's request with the same events for a recorded stream cut ${label}`, async () => {
      fake.script('fixture/reasoning', { sse: loadFixture('reasoning'), writeMode });
      const response = await send('POST', '/v1/responses', { body: codexTurn });
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/event-stream');
      const all = responsesEvents(response.text);
      const types = all.map((event) => event.type).filter((type, index, list) => !(type.endsWith('.delta') && list[index - 1] === type));
      expect(types).toEqual([
        'response.created', 'response.in_progress',
        'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done', 'response.output_item.done',
        'response.output_item.added', 'response.content_part.added', 'response.output_text.delta',
        'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
        'response.completed',
      ]);
      expect(all.at(-1).response).toMatchObject({ status: 'completed', model: 'fixture/reasoning', output: [{ type: 'reasoning' }, { type: 'message', content: [{ text: '4' }] }] });
    });
  }

  it('sends Codex\'s turn upstream as chat: developer as system, the function call and its output, the function and custom tools', async () => {
    await send('POST', '/v1/responses', { body: codexTurn });
    const upstream = fake.chatRequests().at(-1)!.body;
    expect(upstream.messages).toMatchObject([
      { role: 'system', content: 'You are Codex, a coding agent.' },
      { role: 'system', content: '<permissions>workspace-write</permissions>' },
      { role: 'user', content: 'List the files.' },
      { role: 'assistant', tool_calls: [{ id: 'call_ls', type: 'function', function: { name: 'shell', arguments: '{"command":["ls"]}' } }] },
      { role: 'tool', tool_call_id: 'call_ls', content: 'README.md\nsrc' },
    ]);
    expect(upstream.messages).toHaveLength(5);
    // Another server's encrypted content means nothing upstream: not sent.
    expect(upstream.messages[3]).not.toHaveProperty('reasoning_details');
    // The custom tool as a function of {input}; web_search left out.
    expect(upstream.tools.map((tool: any) => tool.function.name)).toEqual(['shell', 'apply_patch']);
    expect(upstream).toMatchObject({ tool_choice: 'auto', reasoning: { effort: 'medium' }, stream: true });
  });

  it('before the first byte, an upstream error gets its status in OpenAI\'s envelope', async () => {
    const response = await send('POST', '/v1/responses', { body: { model: 'fixture/error-legacy', input: 'x', stream: true } });
    expect(response.status).toBe(429);
    expect(JSON.parse(response.text)).toMatchObject(OPENAI_ERROR);
  });

  it('after the first byte, an upstream error is response.failed and the end', async () => {
    const response = await send('POST', '/v1/responses', { body: { model: 'fixture/error-mid-stream', input: 'x', stream: true } });
    expect(response.status).toBe(200);
    const last = responsesEvents(response.text).at(-1);
    expect(last).toMatchObject({ type: 'response.failed', response: { status: 'failed', error: { message: 'Provider disconnected unexpectedly' } } });
  });
});

describe('refusals in OpenAI\'s envelope', () => {
  it('invalid JSON, a wrong type, no input → 400 invalid_request_error', async () => {
    for (const [raw, body] of [['{"model":', undefined], [undefined, { model: 'gpt-4o', input: 5 }], [undefined, { model: 'gpt-4o', input: [] }], [undefined, { model: 'gpt-4o', input: 'x', tools: [{ type: 'function' }] }]] as const) {
      const response = await send('POST', '/v1/responses', raw === undefined ? { body } : { raw });
      expect(response.status, raw ?? JSON.stringify(body)).toBe(400);
      expect(JSON.parse(response.text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
  });

  it('previous_response_id → 400 saying the server is stateless', async () => {
    const response = await send('POST', '/v1/responses', { body: { model: 'gpt-4o', input: 'x', previous_response_id: 'resp_1' } });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).error.message).toContain('stateless');
  });

  it('GET /v1/responses → 405, GET /v1/responses/<id> → 404 (nothing stored)', async () => {
    const wrongMethod = await send('GET', '/v1/responses');
    expect(wrongMethod.status).toBe(405);
    expect(JSON.parse(wrongMethod.text)).toMatchObject(OPENAI_ERROR);
    const stored = await send('GET', '/v1/responses/resp_123');
    expect(stored.status).toBe(404);
    expect(JSON.parse(stored.text)).toMatchObject(OPENAI_ERROR);
    expect(JSON.parse(stored.text).error.message).toContain('stateless');
  });

  it('the shared key hook: no key or a wrong one → 401 in OpenAI\'s envelope; the client key as a Bearer token answers', async () => {
    const body = { model: 'gpt-4o', input: 'x' };
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const response = await send('POST', '/v1/responses', { url: keyed.url, headers, body });
      expect(response.status).toBe(401);
      expect(JSON.parse(response.text)).toMatchObject(OPENAI_ERROR);
    }
    expect((await send('POST', '/v1/responses', { url: keyed.url, headers: { authorization: 'Bearer codex-key' }, body })).status).toBe(200);
  });
});
