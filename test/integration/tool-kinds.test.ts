/**
 * Tools over real HTTP as the clients send them: a function tool's `strict` reaches OpenRouter
 * as the client set it (/v1/chat/completions on the passthrough and on the IR, /v1/responses,
 * /v1/messages), never an upstream Ollama; Codex's custom tools (free-form input held to a
 * grammar) go upstream as functions of `{input}` and their calls come back as
 * `custom_tool_call` items; a `namespace` tool's members go upstream as functions named
 * `<namespace>__<name>` and their calls come back with `name` and `namespace` as the client
 * declared them; built-in tools no upstream runs are left out and logged.
 */
import OpenAI from 'openai';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { reasoningStream, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, startGatewayThroughIr, type TestGateway } from '../helpers/gateway.js';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let throughIr: TestGateway;
let overOllama: TestGateway;
const logLines: string[] = [];

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  const logDestination = new Writable({ write(chunk: Buffer, _encoding, done) { logLines.push(chunk.toString('utf8')); done(); } });
  gateway = await startGateway(openRouter.baseUrl, { LOG_LEVEL: 'info' }, { logDestination });
  throughIr = await startGatewayThroughIr(openRouter.baseUrl);
  overOllama = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), throughIr?.close(), overOllama?.close()]);
  await openRouter?.close();
  await ollama?.close();
});

const openai = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const lastUpstream = () => openRouter.chatRequests().at(-1)!.body;

/** One /v1/responses call through the SDK, streamed (its events kept) or not. */
async function respond(client: OpenAI, request: OpenAI.Responses.ResponseCreateParamsNonStreaming & { stream?: undefined }, stream: boolean): Promise<{ response: OpenAI.Responses.Response; events: OpenAI.Responses.ResponseStreamEvent[] }> {
  if (!stream) return { response: await client.responses.create(request), events: [] };
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  const running = client.responses.stream(request);
  running.on('event', (event) => events.push(event));
  return { response: await running.finalResponse(), events };
}
const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };

describe('a function tool\'s strict', () => {
  it('reaches OpenRouter as set on /v1/chat/completions, over the passthrough and over the IR', async () => {
    for (const url of [gateway.url, throughIr.url]) {
      await openai(url).chat.completions.create({
        model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x' }],
        tools: [
          { type: 'function', function: { name: 'strict_one', parameters: schema, strict: true } },
          { type: 'function', function: { name: 'loose_one', parameters: schema, strict: false } },
          { type: 'function', function: { name: 'unsaid', parameters: schema } },
        ],
      });
      expect(lastUpstream().tools.map((tool: any) => tool.function)).toEqual([
        { name: 'strict_one', parameters: schema, strict: true },
        { name: 'loose_one', parameters: schema, strict: false },
        { name: 'unsaid', parameters: schema },
      ]);
    }
  });

  it('reaches OpenRouter as set on /v1/responses and /v1/messages', async () => {
    await openai(gateway.url).responses.create({ model: 'openai/gpt-4o', store: false, input: 'x', tools: [{ type: 'function', name: 'get_weather', parameters: schema, strict: true }] });
    expect(lastUpstream().tools[0].function).toEqual({ name: 'get_weather', parameters: schema, strict: true });
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'openai/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'get_weather', input_schema: schema, strict: true }] }),
    });
    expect(response.status).toBe(200);
    expect(lastUpstream().tools[0].function).toEqual({ name: 'get_weather', parameters: schema, strict: true });
  });

  it('is not sent to an upstream Ollama (its tools have no such field)', async () => {
    await openai(overOllama.url).chat.completions.create({ model: 'qwen3:8b', messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f', parameters: schema, strict: true } }] });
    expect(ollama.requestsTo('/api/chat').at(-1)!.body.tools[0].function).toEqual({ name: 'f', parameters: schema });
  });
});

describe('Codex\'s custom and built-in tools on /v1/responses', () => {
  const APPLY_PATCH_GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF';
  const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch';
  const shellParameters = { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] };
  const codexTools = [
    { type: 'custom', name: 'apply_patch', description: 'Use the `apply_patch` tool to edit files.', format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR } },
    { type: 'function', name: 'shell', parameters: shellParameters, strict: false },
    { type: 'web_search' },
    { type: 'local_shell' },
  ] as unknown as OpenAI.Responses.Tool[];

  for (const stream of [true, false]) {
    it(`sends a custom tool as a function of {input} and answers its call as a custom_tool_call item, round trip (${stream ? 'stream' : 'non-stream'})`, async () => {
      openRouter.script('openai/gpt-4.1', (body: any) => (body.messages.at(-1)?.role === 'tool'
        ? { sse: reasoningStream({ reasoning: [], text: ['Patched.'] }) }
        : { sse: reasoningStream({ reasoning: [], toolCalls: [{ id: 'call_p1', name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) }] }) }));
      const client = openai(gateway.url);
      const request = { model: 'openai/gpt-4.1', store: false, tools: codexTools, input: 'Add hello.txt' };
      const { response: first, events } = await respond(client, request, stream);
      expect(lastUpstream().tools).toEqual([
        {
          type: 'function',
          function: {
            name: 'apply_patch', description: 'Use the `apply_patch` tool to edit files.',
            parameters: {
              type: 'object', required: ['input'], additionalProperties: false,
              properties: { input: { type: 'string', description: `The tool's raw input text. It must follow this lark grammar:\n${APPLY_PATCH_GRAMMAR}` } },
            },
          },
        },
        { type: 'function', function: { name: 'shell', parameters: shellParameters, strict: false } },
      ]);
      expect(first.output).toEqual([{ id: expect.stringMatching(/^ctc_/), type: 'custom_tool_call', status: 'completed', call_id: 'call_p1', name: 'apply_patch', input: PATCH }]);
      if (stream) expect(events.map((event) => event.type)).toContain('response.custom_tool_call_input.done');

      await client.responses.create({
        ...request,
        input: [{ role: 'user', content: 'Add hello.txt' }, ...first.output as OpenAI.Responses.ResponseInputItem[], { type: 'custom_tool_call_output', call_id: 'call_p1', output: 'Done!' }],
      });
      expect(lastUpstream().messages.slice(1)).toEqual([
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_p1', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) } }] },
        { role: 'tool', content: 'Done!', tool_call_id: 'call_p1', name: 'apply_patch' },
      ]);
    });
  }

  it('leaves the built-in tools out and says so in the log', async () => {
    logLines.length = 0;
    await openai(gateway.url).responses.create({ model: 'openai/gpt-4o', store: false, tools: codexTools, input: 'x' });
    expect(lastUpstream().tools.map((tool: any) => tool.function.name)).toEqual(['apply_patch', 'shell']);
    const line = logLines.map((text) => JSON.parse(text)).find((entry) => entry.msg?.startsWith('built-in tools left out'));
    expect(line).toMatchObject({ level: 30, tools: ['web_search', 'local_shell'] });
  });

  it('over an upstream Ollama the custom tool is a function there too', async () => {
    ollama.script('qwen3:8b', { toolCalls: [{ name: 'apply_patch', arguments: { input: PATCH }, id: 'call_o1' }], reply: '' });
    const response = await openai(overOllama.url).responses.create({ model: 'qwen3:8b', store: false, tools: codexTools, input: 'Add hello.txt' });
    expect(ollama.requestsTo('/api/chat').at(-1)!.body.tools.map((tool: any) => tool.function.name)).toEqual(['apply_patch', 'shell']);
    expect(response.output.filter((item) => item.type !== 'reasoning')).toEqual([expect.objectContaining({ type: 'custom_tool_call', call_id: 'call_o1', name: 'apply_patch', input: PATCH })]);
  });
});

describe('a namespace tool on /v1/responses (MCP servers\' tools, grouped)', () => {
  const issueParameters = { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] };
  const namespaceTools = [
    {
      type: 'namespace', name: 'github', description: 'GitHub tools.',
      tools: [
        { type: 'function', name: 'create_issue', description: 'Opens an issue', parameters: issueParameters, strict: true },
        { type: 'function', name: 'github.list_issues', parameters: { type: 'object', properties: {} } },
        { type: 'custom', name: 'run.query' },
      ],
    },
    { type: 'function', name: 'shell', parameters: { type: 'object', properties: {} } },
  ] as unknown as OpenAI.Responses.Tool[];

  for (const stream of [true, false]) {
    it(`sends the members as functions named after the namespace; a call comes back with name and namespace, round trip (${stream ? 'stream' : 'non-stream'})`, async () => {
      openRouter.script('openai/gpt-4.1', (body: any) => (body.messages.at(-1)?.role === 'tool'
        ? { sse: reasoningStream({ reasoning: [], text: ['Opened.'] }) }
        : { sse: reasoningStream({ reasoning: [], toolCalls: [{ id: 'call_n1', name: 'github__create_issue', arguments: '{"title":"Bug"}' }, { id: 'call_n2', name: 'github__run_query', arguments: '{"input":"open bugs"}' }] }) }));
      const client = openai(gateway.url);
      const request = { model: 'openai/gpt-4.1', store: false, tools: namespaceTools, input: 'File a bug' };
      const { response: first, events } = await respond(client, request, stream);
      const doneNames = events.filter((event) => event.type === 'response.function_call_arguments.done').map((event) => (event as unknown as { name: string }).name);
      expect(lastUpstream().tools.map((tool: any) => tool.function.name)).toEqual(['github__create_issue', 'github__list_issues', 'github__run_query', 'shell']);
      expect(lastUpstream().tools[0].function).toEqual({ name: 'github__create_issue', description: 'Opens an issue', parameters: issueParameters, strict: true });
      // The SDK's stream helper adds its own parsed_arguments to a function call it gathers.
      const output = first.output.map((item) => ({ ...item, parsed_arguments: undefined }));
      expect(output).toEqual([
        { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', call_id: 'call_n1', name: 'create_issue', namespace: 'github', arguments: '{"title":"Bug"}' },
        { id: expect.stringMatching(/^ctc_/), type: 'custom_tool_call', status: 'completed', call_id: 'call_n2', name: 'run.query', namespace: 'github', input: 'open bugs' },
      ]);
      if (stream) expect(doneNames).toEqual(['create_issue']);

      await client.responses.create({
        ...request,
        input: [
          { role: 'user', content: 'File a bug' },
          ...first.output as OpenAI.Responses.ResponseInputItem[],
          { type: 'function_call_output', call_id: 'call_n1', output: '#42' },
          { type: 'custom_tool_call_output', call_id: 'call_n2', output: '3 bugs' },
        ],
      });
      expect(lastUpstream().messages.slice(1)).toEqual([
        {
          role: 'assistant', content: '', tool_calls: [
            { id: 'call_n1', type: 'function', function: { name: 'github__create_issue', arguments: '{"title":"Bug"}' } },
            { id: 'call_n2', type: 'function', function: { name: 'github__run_query', arguments: JSON.stringify({ input: 'open bugs' }) } },
          ],
        },
        { role: 'tool', content: '#42', tool_call_id: 'call_n1', name: 'github__create_issue' },
        { role: 'tool', content: '3 bugs', tool_call_id: 'call_n2', name: 'github__run_query' },
      ]);
    });
  }

  it('a tool_choice naming a member with its namespace chooses the function it is upstream', async () => {
    openRouter.script('openai/gpt-4.1', { sse: reasoningStream({ reasoning: [], text: ['ok'] }) });
    await openai(gateway.url).responses.create({ model: 'openai/gpt-4.1', store: false, tools: namespaceTools, input: 'x', tool_choice: { type: 'function', name: 'create_issue', namespace: 'github' } as unknown as OpenAI.Responses.ToolChoiceFunction });
    expect(lastUpstream().tool_choice).toEqual({ type: 'function', function: { name: 'github__create_issue' } });
  });

  it('a namespace without a name is a 400 in the OpenAI shape', async () => {
    const error = await openai(gateway.url).responses.create({ model: 'openai/gpt-4.1', store: false, tools: [{ type: 'namespace', tools: [] }] as unknown as OpenAI.Responses.Tool[], input: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('a namespace tool needs a name');
  });
});
