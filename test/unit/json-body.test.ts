/**
 * parseJsonBody: the exact depth and value limits, strings never counted as structure, and
 * a body far past the limits refused before JSON.parse ever sees it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { JSON_LIMITS, parseJsonBody } from '../../src/http/json-body.js';

const TOO_DEEP = 'request JSON is nested too deeply: more than 512 levels of objects and arrays';
const TOO_MANY = 'request JSON has too many values: more than 1000000';

function refusal(text: string | Buffer): GatewayError | undefined {
  try {
    parseJsonBody(Buffer.isBuffer(text) ? text : Buffer.from(text));
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
}

const arrays = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const objects = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

afterEach(() => vi.restoreAllMocks());

describe('parseJsonBody', () => {
  it('parses JSON, and an empty or blank body as undefined', () => {
    expect(parseJsonBody(Buffer.from(' {"model":"x","n":[1,2]}\n'))).toEqual({ model: 'x', n: [1, 2] });
    expect(parseJsonBody(Buffer.from(''))).toBeUndefined();
    expect(parseJsonBody(Buffer.from(' \r\n\t'))).toBeUndefined();
  });

  it('invalid JSON is a 400 that says so', () => {
    const error = refusal('{"model": ');
    expect(error?.statusCode).toBe(400);
    expect(error?.message).toMatch(/^invalid JSON in request body: /);
  });

  it.each([
    ['arrays', arrays],
    ['objects', objects],
  ])('%s: 512 levels pass, 513 are refused with 400', (_name, nest) => {
    expect(refusal(nest(JSON_LIMITS.maxDepth))).toBeUndefined();
    const error = refusal(nest(JSON_LIMITS.maxDepth + 1));
    expect([error?.statusCode, error?.message]).toEqual([400, TOO_DEEP]);
  });

  it('depth is measured through mixed objects and arrays, wherever the deep part sits', () => {
    const deepInside = (depth: number) => `{"model":"x","messages":[{"role":"user","content":"hi"}],"format":{"a":[${arrays(depth - 3)}]}}`;
    expect(refusal(deepInside(512))).toBeUndefined();
    expect(refusal(deepInside(513))?.message).toBe(TOO_DEEP);
  });

  it('a million values pass, one more is refused (every element, member and container counts)', () => {
    // The object and its one member (the array): 2; then the elements.
    const body = (elements: number) => `{"input":[${'0,'.repeat(elements - 1)}0]}`;
    expect(refusal(body(JSON_LIMITS.maxValues - 2))).toBeUndefined();
    const error = refusal(body(JSON_LIMITS.maxValues - 1));
    expect([error?.statusCode, error?.message]).toEqual([400, TOO_MANY]);
  });

  it('members count like elements', () => {
    const members = Array.from({ length: JSON_LIMITS.maxValues }, (_, index) => `"k${index}":0`).join(',');
    expect(refusal(`{${members}}`)?.message).toBe(TOO_MANY);
  });

  it('braces, brackets and escaped quotes inside strings are text, on the byte-scan path too', () => {
    // Over 65,536 `{`/`[` bytes: the body is scanned before it is parsed.
    const content = `${'{['.repeat(100_000)} " \\" \\ ${']}'.repeat(10)}`;
    const body = JSON.stringify({ messages: [{ content }], format: '@' }).replace('"@"', arrays(512 - 1));
    expect(body).toContain('\\\\\\"');
    const value = parseJsonBody(Buffer.from(body));
    expect((value as { messages: Array<{ content: string }> }).messages[0]!.content).toBe(content);
  });

  it('a body far past the limits is refused without being parsed', () => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(refusal(arrays(3_000_000))?.message).toBe(TOO_DEEP);
    expect(refusal(`[${'{},'.repeat(1_500_000)}{}]`)?.message).toBe(TOO_MANY);
    expect(parse).not.toHaveBeenCalled();
  });

  it('a multi-megabyte string (a base64 image) costs no structural work', () => {
    const image = Buffer.alloc(16 * 1024 * 1024, 'QUJD').toString('latin1');
    const value = parseJsonBody(Buffer.from(JSON.stringify({ model: 'x', messages: [{ role: 'user', content: '', images: [image] }] })));
    expect((value as { messages: Array<{ images: string[] }> }).messages[0]!.images[0]!.length).toBe(image.length);
  });

  it('invalid UTF-8 is read as replacement characters, as Go does', () => {
    const bytes = Buffer.concat([Buffer.from('{"prompt":"a'), Buffer.from([0xff, 0xc0, 0xaf]), Buffer.from('b"}')]);
    expect(parseJsonBody(bytes)).toEqual({ prompt: 'a\ufffd\ufffd\ufffdb' });
  });
});
