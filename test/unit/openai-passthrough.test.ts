import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { openRouterErrorIn } from '../../src/adapters/openrouter/errors.js';
import { relayJson } from '../../src/frontends/openai/relay/json-answer.js';
import { withReasoningContent } from '../../src/frontends/openai/relay/reasoning-content.js';
import { SseRelay } from '../../src/frontends/openai/relay/sse-relay.js';
import { startSseRelay } from '../../src/frontends/openai/relay/start-relay.js';
import { byteAtATime, everyBoundary, seededCuts } from '../helpers/chunking.js';
import { countCopiedBytes } from '../helpers/copied-bytes.js';

/** OpenRouter, as its adapter hands it to the relay: its name and its error shapes. */
const OPENROUTER = { upstream: 'OpenRouter', errorIn: openRouterErrorIn };

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/openrouter/${name}.sse`, import.meta.url));

interface Relayed {
  text: string;
  /** One output per push (empty outputs included). */
  outputs: number;
  errorBeforeStart?: GatewayError;
}

function relay(pieces: Buffer[]): Relayed {
  const sse = new SseRelay(OPENROUTER);
  const out: Buffer[] = [];
  let outputs = 0;
  for (const piece of pieces) {
    if (sse.ended) break;
    out.push(sse.push(piece));
    outputs++;
  }
  out.push(sse.end());
  const result: Relayed = { text: Buffer.concat(out).toString('utf8'), outputs };
  if (sse.errorBeforeStart !== undefined) result.errorBeforeStart = sse.errorBeforeStart;
  return result;
}

/** Every way of cutting the bytes must relay the same text. */
function relayAllCuts(bytes: Buffer): string {
  const whole = relay([bytes]);
  for (const pieces of [byteAtATime(bytes), seededCuts(bytes, 7), seededCuts(bytes, 42, 13), ...everyBoundary(bytes)]) {
    expect(relay(pieces).text).toBe(whole.text);
  }
  return whole.text;
}

const ERROR_EVENT = /data: (\{"error":\{[^\n]*\}\})\n\n$/;

describe('SSE passthrough relay', () => {
  for (const name of ['text', 'no-usage', 'length', 'tool-call', 'parallel-tool-calls', 'usage-shape-2', 'usage-shape-3', 'tool-call-finish-stop', 'crlf']) {
    it(`forwards ${name}.sse byte for byte, at every cut`, () => {
      const bytes = fixture(name);
      expect(relayAllCuts(bytes)).toBe(bytes.toString('utf8'));
    });
  }

  it('adds reasoning_content next to every string reasoning and changes nothing else, at every cut', () => {
    const source = fixture('reasoning').toString('utf8');
    const expected = source.replace(/"reasoning":("(?:[^"\\]|\\.)*")/g, '"reasoning":$1,"reasoning_content":$1');
    expect(expected).not.toBe(source);
    expect(relayAllCuts(Buffer.from(source))).toBe(expected);
    // Chunks whose reasoning is null or absent are untouched.
    const changed = expected.split('\n').filter((line, index) => line !== source.split('\n')[index]);
    expect(changed).toHaveLength(2);
  });

  it('ends a truncated stream with an in-band error event and no [DONE], at every cut', () => {
    const source = fixture('truncated').toString('utf8');
    const text = relayAllCuts(Buffer.from(source));
    expect(text.startsWith(source)).toBe(true);
    const event = JSON.parse(ERROR_EVENT.exec(text)![1]!);
    expect(event).toEqual({ error: { message: 'OpenRouter ended the stream without finishing the answer', type: 'api_error', param: null, code: 'upstream_bad_response' } });
    expect(text).not.toContain('[DONE]');
  });

  it('drops an incomplete last line and starts the error event on an event boundary', () => {
    const source = fixture('text').toString('utf8');
    const cut = source.indexOf('data: {', source.indexOf('Bonjour')) + 20;
    const text = relay([Buffer.from(source.slice(0, cut))]).text;
    expect(text).toMatch(/\}\]\}\n\ndata: \{"error"/);
    // A data line whose blank line never came is closed before the error event.
    const unterminated = relay([Buffer.from(': OPENROUTER PROCESSING\n\ndata: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n')]).text;
    expect(unterminated).toMatch(/\}\]\}\n\ndata: \{"error"/);
  });

  it('rewrites a mid-stream error event into OpenAI error shape with its status, and stops', () => {
    const source = fixture('error-mid-stream').toString('utf8');
    const text = relayAllCuts(Buffer.from(source));
    const before = source.slice(0, source.indexOf('data: {"id":"gen-1767225600-Xq3kP9aLmN2bR7tYc4Dz","object"'));
    expect(text.startsWith(before)).toBe(true);
    expect(JSON.parse(ERROR_EVENT.exec(text)![1]!)).toEqual({
      error: { message: 'Provider disconnected unexpectedly', type: 'api_error', param: null, code: 'upstream_error' },
    });
    expect(text).not.toContain('finish_reason":"error');
  });

  it('reports an error before the first data event as an error with the upstream code as status', () => {
    for (const pieces of [[fixture('error-legacy')], byteAtATime(fixture('error-legacy'))]) {
      const result = relay(pieces);
      expect(result.errorBeforeStart).toMatchObject({ statusCode: 429, message: expect.stringContaining('Rate limit exceeded: free-models-per-day') });
      expect(result.text).not.toContain('data:');
    }
  });

  it('reports a stream that ends before any data event as an error before the start', () => {
    expect(relay([Buffer.from(': OPENROUTER PROCESSING\n\n')]).errorBeforeStart).toMatchObject({ statusCode: 502 });
    expect(relay([Buffer.from(': OPENROUTER PROCESSING\n\ndata: [DONE]\n\n')]).errorBeforeStart).toMatchObject({ statusCode: 502 });
  });

  it('treats finish_reason "error" without a top-level error as an error', () => {
    const sse = 'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n'
      + 'data: {"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error","error":{"code":504,"message":"timed out"}}]}\n\ndata: [DONE]\n\n';
    const text = relay([Buffer.from(sse)]).text;
    expect(JSON.parse(ERROR_EVENT.exec(text)![1]!).error.message).toBe('timed out');
    expect(text).not.toContain('[DONE]');
  });

  it('stops at [DONE]: nothing after it is relayed, and a missing blank line is added', () => {
    expect(relay([Buffer.from('data: {"choices":[]}\n\ndata: [DONE]\n\ndata: {"late":1}\n\n')]).text).toBe('data: {"choices":[]}\n\ndata: [DONE]\n\n');
    expect(relay([Buffer.from('data: {"choices":[]}\n\ndata: [DONE]\n')]).text).toBe('data: {"choices":[]}\n\ndata: [DONE]\n\n');
    expect(relay([Buffer.from('data: {"choices":[]}\n\ndata: [DONE]')]).text).toBe('data: {"choices":[]}\n\ndata: [DONE]\n\n');
  });

  it('does not mistake [DONE] or "reasoning" inside content for protocol', () => {
    const line = 'data: {"choices":[{"index":0,"delta":{"content":"say [DONE] and \\"reasoning\\":\\"x\\" \\"error\\""}}]}\n\n';
    const sse = `${line}data: [DONE]\n\n`;
    expect(relayAllCuts(Buffer.from(sse))).toBe(sse);
  });

  it('ends the answer at a data line that is not a JSON object: in-band error, no [DONE], at every cut', () => {
    const source = fixture('malformed-mid-stream').toString('utf8');
    const badLine = source.lastIndexOf('data: ', source.indexOf('"content":"Bonj\n'));
    const text = relayAllCuts(Buffer.from(source));
    expect(text).toBe(`${source.slice(0, badLine)}data: {"error":{"message":"OpenRouter sent an unreadable stream event","type":"api_error","param":null,"code":"upstream_bad_response"}}\n\n`);
  });

  it('answers an unreadable event before the first data event with a 502, at every cut', () => {
    const bytes = fixture('malformed-before-start');
    for (const pieces of [[bytes], byteAtATime(bytes), seededCuts(bytes, 3), ...everyBoundary(bytes)]) {
      const result = relay(pieces);
      expect(result.errorBeforeStart).toMatchObject({ statusCode: 502, message: 'OpenRouter sent an unreadable stream event' });
      expect(result.text).not.toContain('data:');
    }
  });

  it('checks every data payload by its first and last bytes: truncated, garbage and non-object payloads end the answer', () => {
    const good = 'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n';
    const unreadable = ['data: {"choices":[{"index":0,"delta":{"content":"b', 'data: <html>502 Bad Gateway</html>', 'data: 42', 'data: null', 'data: "text"', 'data: []', 'data:', 'data: ', 'data: {', 'data: {"a":1}}x'];
    for (const line of unreadable) {
      for (const framing of ['\n\n', '\r\n\r\n', '\r\r']) {
        const sse = `${good.replaceAll('\n', framing.slice(0, framing.length / 2))}${line}${framing}${good.replaceAll('\n', framing.slice(0, framing.length / 2))}data: [DONE]${framing}`;
        const text = relayAllCuts(Buffer.from(sse));
        expect(text, JSON.stringify({ line, framing })).toMatch(/data: \{"error":\{"message":"OpenRouter sent an unreadable stream event"[^\r\n]*\}\}\n\n$/);
        expect(text).not.toContain('[DONE]');
        expect(text).not.toContain(`${line}${framing[0]}`);
      }
    }
    // Spaces around the object, no space after the colon, and a spaced [DONE] are fine.
    for (const sse of [
      `${good}data:   {"choices":[]}  \n\ndata: [DONE]\n\n`,
      `${good}data:{"choices":[]}\n\ndata:[DONE]\n\n`,
      `${good}data: {"choices":[]}\n\ndata: [DONE] \n\n`,
    ]) expect(relayAllCuts(Buffer.from(sse))).toBe(sse);
  });

  it('returns one output per network read (the hot path forwards the read itself)', () => {
    const bytes = fixture('text');
    const sse = new SseRelay(OPENROUTER);
    const events = bytes.toString('utf8').split(/(?<=\n\n)/).map((event) => Buffer.from(event));
    const outputs = events.map((event) => sse.push(event));
    expect(Buffer.concat(outputs).equals(bytes)).toBe(true);
    // Once started, an uninteresting read comes back as the very same bytes.
    expect(outputs[2]!.buffer).toBe(events[2]!.buffer);
  });

  it('reports the usage of the last data event before [DONE], how it finished and who answered, wherever the reads were cut', () => {
    const bytes = fixture('tool-call');
    for (const pieces of [[bytes], byteAtATime(bytes), bytes.toString('utf8').split(/(?<=\n\n)/).map((event) => Buffer.from(event))]) {
      const seen: unknown[] = [];
      const sse = new SseRelay(OPENROUTER, {
        meter: {
          report: (usage) => seen.push(usage),
          finished: (reason) => seen.push(reason),
          answeredBy: (origin) => seen.push(origin),
        },
        echoModel: 'gpt-4.1',
      });
      for (const piece of pieces) sse.push(piece);
      expect(seen).toEqual([
        { modelServed: 'openai/gpt-4.1', generationId: 'gen-1767225600-Xq3kP9aLmN2bR7tYc4Dz' },
        { inputTokens: 80, outputTokens: 15, cost: 0.00028 },
        'tool-calls',
      ]);
    }
    const none: unknown[] = [];
    const sse = new SseRelay(OPENROUTER, { meter: { report: (usage) => none.push(usage) } });
    sse.push(fixture('no-usage'));
    expect(none).toEqual([]);
  });

  it('reads the reasoning and cached tokens, and a stop cut short by the token limit as length', () => {
    const seen: unknown[] = [];
    const sse = new SseRelay(OPENROUTER, { meter: { report: (usage) => seen.push(usage), finished: (reason) => seen.push(reason) } });
    sse.push(Buffer.from(
      'data: {"id":"gen-2","model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}\n\n' +
        'data: {"id":"gen-2","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop","native_finish_reason":"MAX_TOKENS"}]}\n\n',
    ));
    sse.push(Buffer.from('data: {"id":"gen-2","model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":30,"cost":0.5,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":20}}}\n\n'));
    sse.push(Buffer.from('data: [DONE]\n\n'));
    expect(seen).toEqual([{ inputTokens: 9, outputTokens: 30, cachedTokens: 4, reasoningTokens: 20, cost: 0.5 }, 'length']);
  });

  it('tells the code of an in-band failure', () => {
    const codes: string[] = [];
    const sse = new SseRelay(OPENROUTER, { meter: { failed: (code) => codes.push(code) } });
    sse.push(fixture('truncated'));
    sse.end();
    expect(codes).toEqual(['UPSTREAM_BAD_RESPONSE']);
  });

  it('splices reasoning_content after each reasoning string, escapes and all', () => {
    const line = Buffer.from('{"delta":{"reasoning":"a \\"quoted\\" é\\\\","content":""},"x":{"reasoning":"b"}}');
    expect(withReasoningContent(line, 0, line.length).toString()).toBe(
      '{"delta":{"reasoning":"a \\"quoted\\" é\\\\","reasoning_content":"a \\"quoted\\" é\\\\","content":""},"x":{"reasoning":"b","reasoning_content":"b"}}',
    );
    const already = Buffer.from('{"reasoning":"a","reasoning_content":"a"}');
    expect(withReasoningContent(already, 0, already.length).toString()).toBe('{"reasoning":"a","reasoning_content":"a"}');
  });
});

describe('a long data line arriving in many reads', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is relayed whole, copying bytes in proportion to its length (4 MB in 16 KB reads)', () => {
    const start = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"');
    const image = Buffer.alloc(4 * 1024 * 1024, 0x41);
    const end = Buffer.from('"}}]}\n\ndata: [DONE]\n\n');
    const bytes = Buffer.concat([start, image, end]);
    const reads: Buffer[] = [];
    for (let offset = 0; offset < bytes.length; offset += 16 * 1024) reads.push(bytes.subarray(offset, offset + 16 * 1024));
    const sse = new SseRelay(OPENROUTER);
    const out: Buffer[] = [];
    const copied = countCopiedBytes(() => {
      for (const read of reads) out.push(sse.push(read));
    });
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    // Each byte is copied into the held pieces once and joined once. Copying the held start
    // again on every read would be about 256 × 4 MB / 2 = 512 MB.
    expect(copied).toBeLessThanOrEqual(3 * bytes.length);
  });
});

describe('startSseRelay', () => {
  async function collect(stream: AsyncIterable<Buffer>): Promise<string> {
    let text = '';
    for await (const piece of stream) text += piece.toString('utf8');
    return text;
  }

  /** An upstream body that yields `pieces` (a piece may be several chunks of one read) and records how it was released. */
  function body(pieces: Array<Buffer | Buffer[]>, failAfter?: Error) {
    const releases: boolean[] = [];
    async function* generate(): AsyncGenerator<Buffer | Buffer[]> {
      yield* pieces;
      if (failAfter) throw failAfter;
    }
    const iterable = generate();
    return {
      [Symbol.asyncIterator]: () => iterable,
      release: (completed: boolean) => {
        releases.push(completed);
      },
      releases,
    };
  }

  it('holds the comments until the first data event, relays everything, then releases the body as read to its end', async () => {
    const bytes = fixture('text');
    const upstream = body(byteAtATime(bytes));
    const stream = await startSseRelay({ ...OPENROUTER, body: upstream }, () => false);
    expect(await collect(stream)).toBe(bytes.toString('utf8'));
    expect(upstream.releases).toEqual([true]);
  });

  it('takes the several chunks of one network read as one piece', async () => {
    const bytes = fixture('text');
    const middle = Math.floor(bytes.length / 2);
    const upstream = body([[bytes.subarray(0, 7), bytes.subarray(7, middle)], bytes.subarray(middle)]);
    expect(await collect(await startSseRelay({ ...OPENROUTER, body: upstream }, () => false))).toBe(bytes.toString('utf8'));
  });

  it('throws an error event that comes before any data, with its status, and abandons the body', async () => {
    const upstream = body([fixture('error-legacy')]);
    await expect(startSseRelay({ ...OPENROUTER, body: upstream }, () => false)).rejects.toMatchObject({ statusCode: 429 });
    expect(upstream.releases).toEqual([false]);
  });

  it('turns a socket error after the start into an in-band error event', async () => {
    const source = fixture('truncated');
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const upstream = body([source], reset);
    const stream = await startSseRelay({ ...OPENROUTER, body: upstream }, () => false);
    const text = await collect(stream);
    expect(upstream.releases).toEqual([false]);
    expect(JSON.parse(ERROR_EVENT.exec(text)![1]!).error).toMatchObject({ code: 'upstream_unavailable', message: expect.stringContaining('other side closed') });
  });

  it('turns a body timeout into an in-band 504-style error event', async () => {
    const timeout = Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' });
    const stream = await startSseRelay({ ...OPENROUTER, body: body([fixture('truncated')], timeout) }, () => false);
    expect(JSON.parse(ERROR_EVENT.exec(await collect(stream))![1]!).error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('went silent') });
  });

  it('ends quietly when the failure is the client going away', async () => {
    const aborted = Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' });
    const stream = await startSseRelay({ ...OPENROUTER, body: body([fixture('truncated')], aborted) }, () => true);
    expect(await collect(stream)).toBe(fixture('truncated').toString('utf8'));
  });
});

describe('non-stream passthrough', () => {
  const answer = { id: 'gen-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning: null }, finish_reason: 'stop' }] };

  it('returns the body as sent, without leading keep-alive whitespace', () => {
    const text = JSON.stringify(answer);
    expect(relayJson(OPENROUTER, `\n\n  \n${text}`)).toBe(text);
  });

  it('mirrors message.reasoning into reasoning_content', () => {
    const text = JSON.stringify({ ...answer, choices: [{ ...answer.choices[0], message: { role: 'assistant', content: '4', reasoning: 'Two plus two' } }] });
    expect(JSON.parse(relayJson(OPENROUTER, text)).choices[0].message).toEqual({ role: 'assistant', content: '4', reasoning: 'Two plus two', reasoning_content: 'Two plus two' });
  });

  it('reports the usage of a non-stream answer, who answered and how it finished', () => {
    const seen: unknown[] = [];
    const meter = { report: (usage: unknown) => seen.push(usage), answeredBy: (origin: unknown) => seen.push(origin), finished: (reason: unknown) => seen.push(reason) };
    relayJson(OPENROUTER, JSON.stringify({ ...answer, model: 'openai/gpt-4o-2024-08-06', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }), meter, 'gpt-4o');
    expect(seen).toEqual([{ inputTokens: 3, outputTokens: 4 }, { modelServed: 'openai/gpt-4o-2024-08-06', generationId: 'gen-1' }, 'stop']);
  });

  it('throws a 200 that carries an error, with the error code as status', () => {
    expect(() => relayJson(OPENROUTER, '\n\n{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"error code: 1015"}}}')).toThrow(
      expect.objectContaining({ statusCode: 429, message: 'Provider returned error: error code: 1015' }),
    );
  });

  it('throws a choice that finished with an error', () => {
    const text = JSON.stringify({ ...answer, choices: [{ index: 0, message: { role: 'assistant', content: 'partial' }, finish_reason: 'error', error: { code: 502, message: 'Provider disconnected mid-stream' } }] });
    expect(() => relayJson(OPENROUTER, text)).toThrow(expect.objectContaining({ statusCode: 502, message: 'Provider disconnected mid-stream' }));
  });

  it('throws on a body that is not JSON', () => {
    expect(() => relayJson(OPENROUTER, '<html>')).toThrow(expect.objectContaining({ statusCode: 502 }));
  });
});


describe('usage-only chunks', () => {
  const stream = Buffer.from(
    'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n' +
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n' +
      'data: [DONE]\n\n',
  );
  const events = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('data:'));

  it('are dropped when the client did not ask for usage, while the accounting still reads them', () => {
    const seen: unknown[] = [];
    const relay = new SseRelay(OPENROUTER, { meter: { report: (usage) => seen.push(usage) }, includeUsage: false });
    const output = relay.push(stream).toString('utf8');
    expect(events(output)).toEqual([
      'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}',
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
      'data: [DONE]',
    ]);
    expect(seen).toEqual([{ inputTokens: 3, outputTokens: 1 }]);
  });

  it('are forwarded byte for byte when the client asked for usage', () => {
    const relay = new SseRelay(OPENROUTER, { includeUsage: true });
    expect(relay.push(stream).equals(stream)).toBe(true);
  });
});
