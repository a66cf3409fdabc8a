/**
 * /v1/messages and /v1/responses over an upstream Ollama, over real HTTP: each recorded Ollama
 * stream (thinking, tool calls, a length cut, an error mid-answer, a truncated answer) gives
 * the same answer in the client's dialect however the upstream's bytes are cut: at a sample of
 * single boundaries (every one is covered without sockets in the encoders' unit tests), one
 * byte per write, and seeded random cuts.
 */
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama, type WriteMode } from '../fakes/fake-ollama.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let ollama: FakeOllama;
let gateway: TestGateway;

beforeAll(async () => {
  ollama = await startFakeOllama();
  gateway = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
});

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/ollama/${name}.ndjson`, import.meta.url), 'utf8');

async function post(path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.statusCode, text: await response.body.text() };
}

function frames(text: string): Array<{ event: string; data: any }> {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((frame) => {
    const match = /^event: (\S+)\ndata: (.*)$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const data = JSON.parse(match![2]!);
    expect(data.type).toBe(match![1]);
    return { event: match![1]!, data };
  });
}

/** An Anthropic stream as what it adds up to: its blocks with their text, how it ended. */
function anthropicAnswer(text: string): unknown {
  const blocks: Array<Record<string, unknown>> = [];
  const names: string[] = [];
  let end: unknown;
  for (const { event, data } of frames(text)) {
    if (names.at(-1) !== event || event !== 'content_block_delta') names.push(event);
    if (event === 'content_block_start') blocks[data.index] = { ...data.content_block };
    if (event === 'content_block_delta') {
      const block = blocks[data.index]!;
      const { type: _type, ...delta } = data.delta;
      for (const [field, value] of Object.entries(delta)) block[field] = `${(block[field] as string | undefined) ?? ''}${value as string}`;
    }
    if (event === 'message_delta' || event === 'error') end = data;
  }
  return { names, blocks, end };
}

/** A Responses stream as what it adds up to: event types (deltas merged), sequence numbers in order, the final object without ids. */
function responsesAnswer(text: string): unknown {
  const types: string[] = [];
  const all = frames(text).map(({ data }) => data);
  all.forEach((event, index) => {
    expect(event.sequence_number).toBe(index);
    if (types.at(-1) !== event.type || !event.type.endsWith('.delta')) types.push(event.type);
  });
  const { sequence_number: _sequence, ...last } = all.at(-1);
  return { types, last: JSON.parse(JSON.stringify(last, (key, value) => (key === 'id' || key === 'item_id' || key === 'created_at' ? '<id>' : value))) };
}

const routes = [
  {
    name: '/v1/messages',
    body: (stream: boolean) => ({ model: 'qwen3:8b', max_tokens: 200, stream, thinking: { type: 'enabled', budget_tokens: 100 }, messages: [{ role: 'user', content: 'x' }] }),
    answer: anthropicAnswer,
  },
  {
    name: '/v1/responses',
    body: (stream: boolean) => ({ model: 'qwen3:8b', stream, store: false, reasoning: { effort: 'medium' }, input: 'x' }),
    answer: responsesAnswer,
  },
];

const FIXTURES = ['thinking', 'tool-calls-b', 'parallel-tool-calls', 'length', 'error-mid-stream', 'truncated'];

describe.each(routes)('$name over an upstream Ollama', ({ name, body, answer }) => {
  it('gives the same answer for each recorded stream however its bytes are cut', async () => {
    for (const fixtureName of FIXTURES) {
      const ndjson = fixture(fixtureName);
      const answerWith = async (writeMode: WriteMode): Promise<unknown> => {
        ollama.script('qwen3:8b', { ndjson, writeMode });
        const response = await post(name, body(true));
        expect(response.status, `${fixtureName} ${JSON.stringify(writeMode)}`).toBe(200);
        return answer(response.text);
      };
      const expected = await answerWith('event');
      const size = Buffer.byteLength(ndjson);
      // Every 13th boundary, every 3rd in the first line (where the answer starts).
      const firstLine = ndjson.indexOf('\n') + 1;
      for (let cut = 1; cut < size; cut += cut <= firstLine ? 3 : 13) expect(await answerWith({ cutAt: cut }), `${fixtureName} cut at ${cut}`).toEqual(expected);
      expect(await answerWith('bytes'), `${fixtureName} byte per write`).toEqual(expected);
      for (const seed of [3, 11]) expect(await answerWith({ randomSeed: seed, maxPiece: 17 }), `${fixtureName} seed ${seed}`).toEqual(expected);
    }
  }, 120_000);

  it('ends a recorded stream as its dialect says: thinking then text, tool calls, the length cut, the error after the first byte', async () => {
    const answers = new Map<string, any>();
    for (const fixtureName of FIXTURES) {
      ollama.script('qwen3:8b', { ndjson: fixture(fixtureName) });
      answers.set(fixtureName, answer((await post(name, body(true))).text));
    }
    if (name === '/v1/messages') {
      expect(answers.get('thinking').blocks).toEqual([{ type: 'thinking', thinking: 'Okay, the user asks for 2+2. That is four.', signature: '' }, { type: 'text', text: '2 + 2 = 4.' }]);
      expect(answers.get('tool-calls-b').blocks.map((block: any) => block.type)).toEqual(['thinking', 'text', 'tool_use', 'tool_use']);
      expect(answers.get('tool-calls-b').end.delta.stop_reason).toBe('tool_use');
      expect(answers.get('length').end.delta.stop_reason).toBe('max_tokens');
      for (const broken of ['error-mid-stream', 'truncated']) {
        expect(answers.get(broken).end.type).toBe('error');
        expect(answers.get(broken).names).not.toContain('message_stop');
      }
    } else {
      expect(answers.get('thinking').last.response.output.map((item: any) => item.type)).toEqual(['reasoning', 'message']);
      expect(answers.get('tool-calls-b').last.response.output.map((item: any) => item.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
      expect(answers.get('length').last.type).toBe('response.incomplete');
      for (const broken of ['error-mid-stream', 'truncated']) expect(answers.get(broken).last.type).toBe('response.failed');
    }
  });
});
