/**
 * The /v1 relay's model echo: the `model` of every forwarded event becomes the client's name,
 * by byte search and splice, in place when the name is not longer than the upstream's.
 */
import { describe, expect, it } from 'vitest';
import { ModelEcho } from '../../src/frontends/openai/relay/model-echo.js';
import { openRouterErrorIn } from '../../src/adapters/openrouter/errors.js';
import { relayJson } from '../../src/frontends/openai/relay/json-answer.js';
import { SseRelay } from '../../src/frontends/openai/relay/sse-relay.js';

const OPENROUTER = { upstream: 'OpenRouter', errorIn: openRouterErrorIn };

const event = (model: string, content = 'hi', extra = ''): string =>
  `data: {"id":"gen-1","provider":"OpenAI","model":${JSON.stringify(model)},"object":"chat.completion.chunk","created":1,"choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}\n\n`;

const echo = (name: string, text: string): string => new ModelEcho(name).apply(Buffer.from(text)).toString('utf8');

describe('model echo', () => {
  it("replaces the upstream's dated id with a shorter name, in every line of a read", () => {
    const upstream = event('openai/gpt-4o-mini-2024-07-18', 'a') + ': OPENROUTER PROCESSING\n\n' + event('openai/gpt-4o-mini-2024-07-18', 'b');
    expect(echo('coder', upstream)).toBe(event('coder', 'a') + ': OPENROUTER PROCESSING\n\n' + event('coder', 'b'));
  });

  it('replaces it with a longer name too, and with one of the same length', () => {
    expect(echo('a-much-longer-alias-name', event('x/y', 'a') + event('x/y', 'b'))).toBe(event('a-much-longer-alias-name', 'a') + event('a-much-longer-alias-name', 'b'));
    expect(echo('abc', event('xyz'))).toBe(event('abc'));
  });

  it('leaves a read alone when it already names the client\'s model, or has no model key', () => {
    const bytes = Buffer.from(event('coder'));
    expect(new ModelEcho('coder').apply(bytes)).toBe(bytes);
    const comment = Buffer.from(': OPENROUTER PROCESSING\n\ndata: [DONE]\n\n');
    expect(new ModelEcho('coder').apply(comment)).toBe(comment);
  });

  it('only rewrites the first model key of a line, never text that mentions one', () => {
    // In the content the key's quotes are escaped: not a key.
    const mention = event('up/stream', 'say "model":"x" please');
    expect(echo('coder', mention)).toBe(event('coder', 'say "model":"x" please'));
    const nested = event('up/stream', 'a', ',"extra":{"model":"other"}');
    expect(echo('coder', nested)).toBe(event('coder', 'a', ',"extra":{"model":"other"}'));
  });

  it('writes names that need escaping as JSON, and reads escaped upstream values whole', () => {
    expect(JSON.parse(echo('we"ird\\name', event('up/stream')).slice(6)).model).toBe('we"ird\\name');
    expect(JSON.parse(echo('coder', event('up/st"re\\am')).slice(6)).model).toBe('coder');
  });

  it('handles CRLF and lone-CR framing', () => {
    const crlf = event('up/stream-2026', 'a').replaceAll('\n', '\r\n') + event('up/stream-2026', 'b').replaceAll('\n', '\r\n');
    expect(echo('m', crlf)).toBe((event('m', 'a') + event('m', 'b')).replaceAll('\n', '\r\n'));
    const cr = (event('up/stream-2026', 'a') + event('up/stream-2026', 'b')).replaceAll('\n', '\r');
    expect(echo('m', cr)).toBe((event('m', 'a') + event('m', 'b')).replaceAll('\n', '\r'));
  });

  it('finds a key past the first bytes of a long line', () => {
    const late = `data: {"id":"${'x'.repeat(1000)}","model":"up/stream","choices":[]}\n\n`;
    expect(echo('coder', late)).toBe(late.replace('up/stream', 'coder'));
  });
});

describe('the relay with a model to echo', () => {
  it('echoes it whatever the cuts between reads, usage still counted', () => {
    const sse = event('openai/gpt-4o-2024-08-06', 'Hel') + event('openai/gpt-4o-2024-08-06', 'lo') +
      'data: {"id":"gen-1","model":"openai/gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\ndata: [DONE]\n\n';
    const expected = sse.replaceAll('openai/gpt-4o-2024-08-06', 'gpt-4o');
    const bytes = Buffer.from(sse);
    for (const size of [1, 2, 7, 50, bytes.length]) {
      const usages: unknown[] = [];
      const relay = new SseRelay(OPENROUTER, { meter: { report: (usage) => usages.push(usage), answeredBy: (origin) => usages.push(origin) }, echoModel: 'gpt-4o' });
      let output = '';
      for (let start = 0; start < bytes.length; start += size) output += relay.push(Buffer.from(bytes.subarray(start, start + size))).toString('utf8');
      output += relay.end().toString('utf8');
      expect(output, `reads of ${size}`).toBe(expected);
      // Who answered is read before the echo rewrites the model.
      expect(usages, `reads of ${size}`).toEqual([{ modelServed: 'openai/gpt-4o-2024-08-06', generationId: 'gen-1' }, { inputTokens: 3, outputTokens: 2 }]);
    }
  });

  it('echoes it in a non-stream answer, compact or not', () => {
    const answer = { id: 'gen-1', provider: 'OpenAI', model: 'openai/gpt-4o-2024-08-06', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };
    expect(JSON.parse(relayJson(OPENROUTER, JSON.stringify(answer), undefined, 'coder'))).toEqual({ ...answer, model: 'coder' });
    expect(relayJson(OPENROUTER, JSON.stringify(answer), undefined, 'coder')).toBe(JSON.stringify({ ...answer, model: 'coder' }));
    expect(JSON.parse(relayJson(OPENROUTER, JSON.stringify(answer, null, 2), undefined, 'coder'))).toEqual({ ...answer, model: 'coder' });
  });
});
