import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeOllamaStream } from '../../src/adapters/ollama/stream.js';
import type { ChatEvent, ChatEventBatch } from '../../src/core/types.js';
import { OllamaChatResponse, OllamaErrorResponse, OllamaGenerateResponse } from '../../schemas/ollama.js';
import { byteAtATime, everyBoundary, fromPieces, seededCuts } from '../helpers/chunking.js';
import { normalizeEvents } from '../helpers/events.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/ollama/${name}.ndjson`, import.meta.url));

async function collectBatches(pieces: Buffer[], isAborted?: () => boolean): Promise<ChatEventBatch[]> {
  const batches: ChatEventBatch[] = [];
  for await (const batch of decodeOllamaStream(fromPieces(pieces), isAborted)) batches.push(batch);
  return batches;
}

const decode = async (pieces: Buffer[]): Promise<unknown[]> => normalizeEvents(await collectBatches(pieces));
const decodeText = (text: string): Promise<unknown[]> => decode([Buffer.from(text, 'utf8')]);

const expectations: Record<string, unknown[]> = {
  text: [
    { type: 'text-delta', text: 'Bonjour le monde — ça va ? 🌍✓ <ok> &' },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 26, outputTokens: 5 } },
  ],
  thinking: [
    { type: 'reasoning-delta', text: 'Okay, the user asks for 2+2. That is four.' },
    { type: 'text-delta', text: '2 + 2 = 4.' },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 14, outputTokens: 20 } },
  ],
  'tool-calls-a': [
    { type: 'reasoning-delta', text: 'I should search for the file.' },
    { type: 'tool-call', index: 0, call: { id: 'call_f5kqwpjg', name: 'find_path', arguments: '{"glob":"*led*","offset":0}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 312, outputTokens: 41 } },
  ],
  'tool-calls-b': [
    { type: 'reasoning-delta', text: 'Need weather for two cities.' },
    { type: 'text-delta', text: 'Checking both.' },
    { type: 'tool-call', index: 0, call: { id: 'call_mWE3uNgqvy6g8XL0ImagG5Dp', name: 'get_weather', arguments: '{"city":"Oslo","unit":"celsius"}' } },
    { type: 'tool-call', index: 1, call: { id: 'call_Zr81qK0pLw2nXe4TbY7cH3Us', name: 'get_weather', arguments: '{"city":"Kyiv","unit":"celsius"}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 150, outputTokens: 60 } },
  ],
  'parallel-tool-calls': [
    { type: 'tool-call', index: 0, call: { id: 'call_a1b2c3d4', name: 'read_file', arguments: '{"path":"src/a.ts"}' } },
    { type: 'tool-call', index: 1, call: { id: 'call_e5f6g7h8', name: 'read_file', arguments: '{"path":"src/b.ts"}' } },
    { type: 'tool-call', index: 2, call: { id: 'call_i9j0k1l2', name: 'list_dir', arguments: '{}' } },
    { type: 'finish', reason: 'tool-calls', usage: { inputTokens: 420, outputTokens: 77 } },
  ],
  length: [
    { type: 'text-delta', text: 'The answer is' },
    { type: 'finish', reason: 'length', usage: { inputTokens: 5, outputTokens: 3 } },
  ],
  'error-mid-stream': [
    { type: 'text-delta', text: 'partial answ' },
    { type: 'error', code: 'UPSTREAM_ERROR', status: 500, message: 'an error was encountered while running the model: unexpected EOF' },
  ],
  truncated: [
    { type: 'text-delta', text: 'Once upon a time' },
    { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'Ollama ended the stream without finishing the answer' },
  ],
  generate: [
    { type: 'reasoning-delta', text: 'Short poem about rain.' },
    { type: 'text-delta', text: 'Rain taps the glass.' },
    { type: 'finish', reason: 'stop', usage: { inputTokens: 12, outputTokens: 9 } },
  ],
};

/** /api/generate's final line also carries `context` (token ids), which the gateway's own schema leaves out. */
const GenerateLine = OllamaGenerateResponse.extend({ context: z.array(z.number().int()).optional() });

describe('decodeOllamaStream on recorded-shape streams', () => {
  for (const [name, expected] of Object.entries(expectations)) {
    describe(name, () => {
      const bytes = fixture(name);

      it('every line of the fixture has the shape Ollama documents', () => {
        const lines = bytes.toString('utf8').split('\n').filter((line) => line !== '');
        expect(lines.length).toBeGreaterThan(1);
        for (const line of lines) {
          const parsed = JSON.parse(line);
          const schema = 'error' in parsed ? OllamaErrorResponse : name === 'generate' ? GenerateLine : OllamaChatResponse;
          const result = schema.safeParse(parsed);
          expect(result.error?.issues ?? [], line).toEqual([]);
        }
      });

      it('decodes whole', async () => {
        expect(await decode([bytes])).toEqual(expected);
      });

      it('decodes the same at every chunk boundary', async () => {
        for (const pieces of everyBoundary(bytes)) expect(await decode(pieces)).toEqual(expected);
      });

      it('decodes the same one byte at a time and with seeded random cuts', async () => {
        expect(await decode(byteAtATime(bytes))).toEqual(expected);
        for (const seed of [1, 2, 3, 42, 1234]) expect(await decode(seededCuts(bytes, seed))).toEqual(expected);
      });
    });
  }
});

const line = (message: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  `${JSON.stringify({ model: 'm', created_at: '2026-01-01T00:00:00.000000001Z', message: { role: 'assistant', content: '', ...message }, done: false, ...extra })}\n`;
const doneLine = (extra: Record<string, unknown> = {}): string => line({}, { done: true, done_reason: 'stop', ...extra });

describe('decodeOllamaStream rules', () => {
  it('yields one batch per network read, merging the text of that read', async () => {
    const batches = await collectBatches([
      Buffer.from(line({ content: 'a' }) + line({ content: 'b' }) + line({ thinking: 'x' }) + line({ thinking: 'y' })),
      Buffer.from(doneLine()),
    ]);
    expect(batches).toEqual([
      [{ type: 'text-delta', text: 'ab' }, { type: 'reasoning-delta', text: 'xy' }],
      [{ type: 'finish', reason: 'stop' }],
    ]);
  });

  it('yields nothing for a read that completes no line', async () => {
    const whole = line({ content: 'hi' }) + doneLine();
    const batches = await collectBatches([Buffer.from(whole.slice(0, 10)), Buffer.from(whole.slice(10))]);
    expect(batches).toHaveLength(1);
  });

  it('puts a line’s thinking before its content', async () => {
    expect(await decodeText(line({ content: 'answer', thinking: 'thought' }) + doneLine())).toEqual([
      { type: 'reasoning-delta', text: 'thought' },
      { type: 'text-delta', text: 'answer' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('keeps text carried by the final done line', async () => {
    expect(await decodeText(line({ content: 'Hel' }) + line({ content: 'lo' }, { done: true, done_reason: 'stop', eval_count: 2 }))).toEqual([
      { type: 'text-delta', text: 'Hello' },
      { type: 'finish', reason: 'stop', usage: { outputTokens: 2 } },
    ]);
  });

  it('counts tool-call indexes per response across both shapes, ignoring function.index', async () => {
    const stream =
      line({ tool_calls: [{ id: 'call_first', function: { index: 0, name: 'a', arguments: { x: 1 } } }] }) +
      doneLine({ message: { role: 'assistant', content: '', tool_calls: [{ id: 'call_second', function: { index: 0, name: 'b', arguments: {} } }] } });
    expect(await decodeText(stream)).toEqual([
      { type: 'tool-call', index: 0, call: { id: 'call_first', name: 'a', arguments: '{"x":1}' } },
      { type: 'tool-call', index: 1, call: { id: 'call_second', name: 'b', arguments: '{}' } },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });

  it('gives a call without an upstream id an Ollama-style id (call_ + 8 lowercase alphanumerics)', async () => {
    const events = await decodeText(line({ tool_calls: [{ function: { index: 0, name: 'a', arguments: {} } }, { id: '', function: { name: 'b' } }] }) + doneLine());
    const calls = events.filter((event) => (event as ChatEvent).type === 'tool-call') as Array<Extract<ChatEvent, { type: 'tool-call' }>>;
    expect(calls).toHaveLength(2);
    for (const call of calls) expect(call.call.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(calls[0]!.call.id).not.toBe(calls[1]!.call.id);
    expect(calls.map((call) => [call.index, call.call.name, call.call.arguments])).toEqual([[0, 'a', '{}'], [1, 'b', '{}']]);
  });

  it('does not emit a call twice when the final line repeats an id already seen', async () => {
    const call = { id: 'call_same0001', function: { index: 0, name: 'a', arguments: { q: 'x' } } };
    const events = await decodeText(line({ tool_calls: [call] }) + doneLine({ message: { role: 'assistant', content: '', tool_calls: [call] } }));
    expect(events).toEqual([
      { type: 'tool-call', index: 0, call: { id: 'call_same0001', name: 'a', arguments: '{"q":"x"}' } },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });

  it('keeps string arguments as the JSON text they are and skips malformed calls', async () => {
    const events = await decodeText(line({ tool_calls: [{ id: 'c1', function: { name: 'a', arguments: '{"k":2}' } }, 'junk', { id: 'c2' }, null] }) + doneLine());
    expect(events).toEqual([
      { type: 'tool-call', index: 0, call: { id: 'c1', name: 'a', arguments: '{"k":2}' } },
      { type: 'finish', reason: 'tool-calls' },
    ]);
  });

  it('keeps length as the finish reason even when tools were called', async () => {
    const events = await decodeText(line({ tool_calls: [{ id: 'c1', function: { name: 'a', arguments: {} } }] }) + doneLine({ done_reason: 'length' }));
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'length' });
  });

  it('maps load, unload, an unknown or a missing done_reason to stop', async () => {
    for (const reason of ['load', 'unload', 'something_new', undefined]) {
      expect(await decodeText(doneLine({ done_reason: reason }))).toEqual([{ type: 'finish', reason: 'stop' }]);
    }
  });

  it('reads usage from prompt_eval_count and eval_count only when present', async () => {
    expect(await decodeText(doneLine({ prompt_eval_count: 7 }))).toEqual([{ type: 'finish', reason: 'stop', usage: { inputTokens: 7 } }]);
    expect(await decodeText(doneLine({ prompt_eval_count: 7, eval_count: 3, total_duration: 9 }))).toEqual([
      { type: 'finish', reason: 'stop', usage: { inputTokens: 7, outputTokens: 3 } },
    ]);
  });

  it('stops at the done line: later lines are not decoded', async () => {
    expect(await decodeText(doneLine() + line({ content: 'late' }) + '{not json\n')).toEqual([{ type: 'finish', reason: 'stop' }]);
  });

  it('turns an error line into an error event and stops', async () => {
    expect(await decodeText(line({ content: 'x' }) + '{"error":"error parsing tool call: raw=\'{\'"}\n' + doneLine())).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'error', code: 'UPSTREAM_ERROR', status: 500, message: "error parsing tool call: raw='{'" },
    ]);
  });

  it('turns an unreadable or non-object line into an error event', async () => {
    for (const bad of ['{not json', '[1,2]', 'null', '42']) {
      expect((await decodeText(line({ content: 'x' }) + `${bad}\n` + doneLine())).at(-1)).toEqual({
        type: 'error',
        code: 'UPSTREAM_BAD_RESPONSE',
        status: 502,
        message: 'Ollama sent an unreadable stream line',
      });
    }
  });

  it('ends malformed-mid-stream.ndjson (a line cut short, then more lines) with an error at every cut', async () => {
    const bytes = fixture('malformed-mid-stream');
    const expected = [
      { type: 'text-delta', text: 'Bonjour le monde' },
      { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'Ollama sent an unreadable stream line' },
    ];
    for (const pieces of [[bytes], ...everyBoundary(bytes), byteAtATime(bytes), seededCuts(bytes, 5)]) expect(await decode(pieces)).toEqual(expected);
  });

  it('ignores blank lines', async () => {
    expect(await decodeText(`\n${line({ content: 'x' })}\n\n${doneLine()}\n`)).toEqual([{ type: 'text-delta', text: 'x' }, { type: 'finish', reason: 'stop' }]);
  });

  it('decodes a final object without a trailing newline (a non-stream answer)', async () => {
    expect(await decodeText(doneLine({ message: { role: 'assistant', content: 'all at once' } }).trimEnd())).toEqual([
      { type: 'text-delta', text: 'all at once' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('reports a stream cut in the middle of a line as unfinished, not unreadable', async () => {
    expect(await decodeText(line({ content: 'x' }) + doneLine().slice(0, 40))).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'Ollama ended the stream without finishing the answer' },
    ]);
  });

  it('reports an empty body as unfinished', async () => {
    expect(await decode([])).toEqual([
      { type: 'error', code: 'UPSTREAM_BAD_RESPONSE', status: 502, message: 'Ollama ended the stream without finishing the answer' },
    ]);
  });

  it('reads /api/generate tool calls from the top level', async () => {
    const final = JSON.stringify({ model: 'm', created_at: 'x', response: '', done: true, done_reason: 'stop', tool_calls: [{ function: { index: 0, name: 'f', arguments: { a: 1 } } }] });
    const events = await decodeText(`${final}\n`);
    expect(events).toMatchObject([{ type: 'tool-call', index: 0, call: { name: 'f', arguments: '{"a":1}' } }, { type: 'finish', reason: 'tool-calls' }]);
  });

  it('turns a transport failure into an error event, keeping what came before', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from(line({ content: 'x' }));
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOllamaStream(failing())) batches.push(batch);
    expect(normalizeEvents(batches)).toEqual([
      { type: 'text-delta', text: 'x' },
      { type: 'error', code: 'UPSTREAM_UNAVAILABLE', status: 502, message: 'Ollama broke off the answer midway: other side closed' },
    ]);
  });

  it('maps a body timeout to UPSTREAM_TIMEOUT', async () => {
    async function* silent(): AsyncGenerator<Buffer> {
      yield Buffer.from(line({ content: 'x' }));
      throw Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
    }
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOllamaStream(silent())) batches.push(batch);
    expect(normalizeEvents(batches).at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_TIMEOUT', status: 504 });
  });

  it('stops quietly when the client aborted', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from(line({ content: 'x' }));
      throw Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' });
    }
    const batches: ChatEventBatch[] = [];
    for await (const batch of decodeOllamaStream(failing(), () => true)) batches.push(batch);
    expect(normalizeEvents(batches)).toEqual([{ type: 'text-delta', text: 'x' }]);
  });
});
