/**
 * Redaction of secrets: key shapes, registered literal secrets (counted, released), URLs'
 * key-like query parameters, the upstream-error mappers, and every line the logger writes.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { REDACTED, redactSecrets, redactUrl, registerSecrets, type SecretRegistration } from '../../src/core/secrets.js';
import { fromMidStreamError, fromStreamErrorValue, fromTransportError, fromUpstreamStatus, upstreamErrorMessage } from '../../src/errors.js';
import { loggerOptions } from '../../src/logger.js';

const registrations: SecretRegistration[] = [];
function register(...secrets: string[]): SecretRegistration {
  const registration = registerSecrets(secrets);
  registrations.push(registration);
  return registration;
}
afterEach(() => {
  for (const registration of registrations.splice(0)) registration.release();
});

describe('key shapes', () => {
  it.each([
    ['an OpenRouter key', `Incorrect API key provided: sk-or-v1-${'0a'.repeat(32)}.`, 'Incorrect API key provided: sk-or-v1-[redacted].'],
    ['an OpenAI project key', `key sk-proj-${'Ab3_'.repeat(10)} is wrong`, 'key sk-proj-[redacted] is wrong'],
    ['a legacy OpenAI key', `"sk-${'x'.repeat(48)}"`, '"sk-[redacted]"'],
    ['a client key (its id stays)', `obk_ab12cd34_${'Q'.repeat(32)}`, 'obk_ab12cd34_[redacted]'],
    ['a bearer token', 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz', 'Authorization: Bearer [redacted]'],
    ['key-like query parameters, any case', 'GET /x?a=1&KEY=k1&api_key=k2&Token=k3&access_token=k4&apikey=k5 HTTP', 'GET /x?a=1&KEY=[redacted]&api_key=[redacted]&Token=[redacted]&access_token=[redacted]&apikey=[redacted] HTTP'],
  ])('%s', (_name, text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('leaves ordinary text alone: words that contain "sk-", short tokens, other query parameters', () => {
    for (const text of [
      'task-0123456789abcdefghij finished',
      'disk-usage-monitoring-service-v2',
      'sk-short',
      'Bearer short',
      '/api/tags?model=llama3&keyword=x',
      'model openai/gpt-4o is not available',
    ]) expect(redactSecrets(text)).toBe(text);
  });

  it('is idempotent', () => {
    const once = redactSecrets(`sk-or-v1-${'f'.repeat(64)} Bearer ${'t'.repeat(20)} ?key=abc`);
    expect(redactSecrets(once)).toBe(once);
  });
});

describe('registered secrets', () => {
  it('redacts a registered secret of any shape, and its JSON-escaped form', () => {
    register('plain-secret-1234', 'quote"and\\slash-secret');
    expect(redactSecrets('a plain-secret-1234 b')).toBe(`a ${REDACTED} b`);
    expect(redactSecrets(JSON.stringify({ message: 'x quote"and\\slash-secret y' }))).toBe(`{"message":"x ${REDACTED} y"}`);
  });

  it('ignores secrets shorter than 8 characters (they would garble ordinary words)', () => {
    register('ollama');
    expect(redactSecrets('ollama-bridge')).toBe('ollama-bridge');
  });

  it('replaces the longest secret when one contains another', () => {
    register('secret-abcdefgh', 'secret-abcdefgh-longer');
    expect(redactSecrets('x secret-abcdefgh-longer y')).toBe(`x ${REDACTED} y`);
  });

  it('a released registration takes back only its own secrets (counted per gateway)', () => {
    const first = register('shared-secret-1234', 'first-only-secret');
    const second = register('shared-secret-1234');
    first.release();
    expect(redactSecrets('shared-secret-1234 first-only-secret')).toBe(`${REDACTED} first-only-secret`);
    second.release();
    expect(redactSecrets('shared-secret-1234')).toBe('shared-secret-1234');
  });

  it('add() after start-up (a reloaded keys file), and nothing after release', () => {
    const registration = register();
    registration.add('reloaded-key-5678');
    expect(redactSecrets('reloaded-key-5678')).toBe(REDACTED);
    registration.release();
    registration.add('too-late-key-5678');
    expect(redactSecrets('too-late-key-5678')).toBe('too-late-key-5678');
  });
});

describe('redactUrl', () => {
  it('redacts the values of key-like query parameters only', () => {
    expect(redactUrl('/api/tags')).toBe('/api/tags');
    expect(redactUrl('/api/tags?key=abc&x=1&Access_Token=zz#frag')).toBe('/api/tags?key=[redacted]&x=1&Access_Token=[redacted]#frag');
    expect(redactUrl('/v1/models?api%5Fkey=abc&tokens=5')).toBe('/v1/models?api%5Fkey=[redacted]&tokens=5');
    expect(redactUrl('/x?%E0%A4%A=1&token=t')).toBe('/x?%E0%A4%A=1&token=[redacted]');
  });
});

describe('the upstream-error mappers redact what the upstream said', () => {
  const key = 'gateway-secret-key-0001';

  it('status bodies (JSON, metadata.raw, plain text cut at 500 characters), in-band errors, transport details', () => {
    register(key);
    const refused = fromUpstreamStatus('OpenRouter', 401, JSON.stringify({ error: { code: 401, message: `Incorrect API key provided: ${key}` } }));
    expect(refused.code).toBe('UPSTREAM_KEY_REFUSED');
    expect(refused.message).toContain(`Incorrect API key provided: ${REDACTED}`);
    expect(fromUpstreamStatus('OpenRouter', 400, JSON.stringify({ error: { message: 'bad', metadata: { raw: { echoed: key } } } })).message).not.toContain(key);
    // A key that straddles the 500-character cut is redacted before the cut.
    const plain = upstreamErrorMessage(`${'x'.repeat(495)}${key} trailing`, 'fallback');
    expect(plain).not.toContain(key.slice(0, 5 + 1));
    expect(plain.startsWith('x'.repeat(495) + '[red')).toBe(true);
    expect(fromStreamErrorValue('OpenRouter', { code: 502, message: `provider echoed ${key}` }, 502).message).toBe(`provider echoed ${REDACTED}`);
    expect(fromTransportError('OpenRouter', new Error(`socket error near ${key}`)).message).not.toContain(key);
    expect(fromMidStreamError('OpenRouter', new Error(`reset after ${key}`)).message).not.toContain(key);
  });
});

describe('the logger', () => {
  function capture(level = 'trace'): { logger: pino.Logger; text: () => string } {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString('utf8');
        callback();
      },
    });
    const options = loggerOptions(level, destination) as pino.LoggerOptions & { stream: NodeJS.WritableStream };
    return { logger: pino(options, options.stream), text: () => text };
  }

  it('redacts secrets anywhere in a line: an error cause, a nested field, a message', () => {
    register('the-openrouter-key-123');
    const { logger, text } = capture();
    const cause = Object.assign(new Error('upstream said the-openrouter-key-123'), { headers: { authorization: 'Bearer the-openrouter-key-123' } });
    logger.error({ err: new Error('request failed', { cause }) }, 'failed');
    logger.debug({ detail: { deep: ['sk-or-v1-' + 'a'.repeat(64)] } }, 'with obk_ab12cd34_' + 'Z'.repeat(32));
    logger.info({ req: { method: 'GET', url: '/api/tags?key=query-secret' } }, 'request completed');
    const output = text();
    expect(output).toContain('request failed');
    expect(output).not.toContain('the-openrouter-key-123');
    expect(output).not.toContain('a'.repeat(64));
    expect(output).not.toContain('Z'.repeat(32));
    expect(output).not.toContain('query-secret');
    expect(output).toContain('"url":"/api/tags?key=[redacted]"');
  });
});
