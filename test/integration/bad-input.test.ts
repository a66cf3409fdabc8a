/**
 * Every error the gateway raises itself, over real HTTP, in the dialect of the route: Ollama's
 * `{"error": "..."}` under / and /api/*, OpenAI's `{"error": {message, type, param, code}}`
 * under /v1/* (also behind a /key/<KEY> prefix). One table: status, Content-Type and the
 * exact body. Then JSON too deep or too large in every free-form field, and the
 * malformed-URL cases that used to stop the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OllamaErrorResponse } from '../../schemas/ollama.js';
import { OpenAiErrorResponse } from '../../schemas/openai.js';
import { MALFORMED_URL_MESSAGE } from '../../src/http/request-url.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { requestBytes, sendRaw, type RawAnswer } from '../helpers/raw-http.js';

const KEY = 'bad-input-test-key-0123456789';
const BODY_LIMIT = 8 * 1024 * 1024;
const AUTH: [string, string] = ['Authorization', `Bearer ${KEY}`];
const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];

let fake: FakeOpenRouter;
let gateway: TestGateway;
let port: number;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  gateway = await startGateway(fake.baseUrl, { BODY_LIMIT_BYTES: BODY_LIMIT, BRIDGE_API_KEYS: KEY });
  port = Number(new URL(gateway.url).port);
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

type Dialect = 'ollama' | 'openai';

interface Row {
  name: string;
  /** The whole request (see requestBytes), or raw bytes. */
  request: Buffer;
  status: number;
  dialect: Dialect;
  message: string | RegExp;
  /** OpenAI's `type` and `code` for this status (checked exactly). */
  openAi?: { type: string; code: string };
}

function send(method: string, target: string, headers: Array<[string, string]> = [AUTH], body?: Buffer | string): Buffer {
  return requestBytes(method, target, headers, body);
}

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const tooLarge = Buffer.alloc(BODY_LIMIT + 1, 'x');
const tooDeep = JSON.stringify({ model: 'openai/gpt-4o', messages: [] }).replace('[]', nested(513));
const DEEP_MESSAGE = 'request JSON is nested too deeply: more than 512 levels of objects and arrays';

const BAD_REQUEST = { type: 'invalid_request_error', code: 'bad_request' };

/** The same class of input on both front doors, and behind the key prefix. */
const rows: Row[] = [];
for (const [dialect, base, prefix] of [
  ['ollama', '/api', ''],
  ['ollama', '/api', `/key/${KEY}`],
  ['openai', '/v1', ''],
  ['openai', '/v1', `/key/${KEY}`],
] as const) {
  const at = `${prefix}${base}`;
  const chat = dialect === 'ollama' ? `${at}/chat` : `${at}/chat/completions`;
  const label = `${dialect}${prefix === '' ? '' : ' (key prefix)'}`;
  const openAi = dialect === 'openai';
  rows.push(
    {
      name: `${label}: unknown route → 404`,
      request: send('GET', `${at}/nope`),
      status: 404,
      dialect,
      message: openAi ? 'GET /v1/nope is not an OpenAI-compatible route of this server' : '404 page not found',
      openAi: { type: 'not_found_error', code: 'route_not_found' },
    },
    {
      name: `${label}: wrong method → 405`,
      request: send('PUT', openAi ? `${at}/models` : `${at}/tags`),
      status: 405,
      dialect,
      message: openAi ? 'PUT is not allowed on /v1/models' : '405 method not allowed',
      openAi: { type: 'api_error', code: 'method_not_allowed' },
    },
    {
      name: `${label}: body over the limit → 413`,
      request: send('POST', chat, [AUTH, JSON_TYPE], tooLarge),
      status: 413,
      dialect,
      message: 'request body is too large',
      openAi: { type: 'invalid_request_error', code: 'payload_too_large' },
    },
    {
      name: `${label}: unreadable Content-Type → 415`,
      request: send('POST', chat, [AUTH, ['Content-Type', 'not a media type']], '{}'),
      status: 415,
      dialect,
      message: 'unreadable Content-Type header: send the body as application/json',
      openAi: { type: 'api_error', code: 'bad_request' },
    },
    {
      name: `${label}: invalid JSON → 400`,
      request: send('POST', chat, [AUTH, JSON_TYPE], '{"model": "openai/gpt-4o", '),
      status: 400,
      dialect,
      message: /^invalid JSON in request body: /,
      openAi: BAD_REQUEST,
    },
    {
      name: `${label}: empty body → 400`,
      request: send('POST', chat, [AUTH, JSON_TYPE], ''),
      status: 400,
      dialect,
      message: 'missing request body',
      openAi: BAD_REQUEST,
    },
    {
      name: `${label}: JSON nested too deeply → 400`,
      request: send('POST', chat, [AUTH, JSON_TYPE], tooDeep),
      status: 400,
      dialect,
      message: DEEP_MESSAGE,
      openAi: BAD_REQUEST,
    },
    {
      name: `${label}: malformed percent-encoding in the path → 400`,
      request: send('GET', `${at}/%zz`),
      status: 400,
      dialect,
      message: MALFORMED_URL_MESSAGE,
      openAi: BAD_REQUEST,
    },
    {
      name: `${label}: percent-encoding of invalid UTF-8 in the path → 400`,
      request: send('GET', `${at}/models/%C0%AF`),
      status: 400,
      dialect,
      message: MALFORMED_URL_MESSAGE,
      openAi: BAD_REQUEST,
    },
    {
      name: `${label}: malformed percent-encoding in the query → 400`,
      request: send('GET', `${at}/${openAi ? 'models' : 'tags'}?name=%E0%A4`),
      status: 400,
      dialect,
      message: MALFORMED_URL_MESSAGE,
      openAi: BAD_REQUEST,
    },
  );
}
rows.push(
  { name: 'ollama: malformed key prefix → 400 (used to stop the process)', request: send('GET', '/key/%/api/tags', []), status: 400, dialect: 'ollama', message: MALFORMED_URL_MESSAGE },
  { name: 'openai: malformed key prefix → 400', request: send('GET', '/key/abc%zz/v1/models', []), status: 400, dialect: 'openai', message: MALFORMED_URL_MESSAGE, openAi: BAD_REQUEST },
  { name: 'ollama: malformed key prefix with no path after it → 400', request: send('GET', '/key/%E0', []), status: 400, dialect: 'ollama', message: MALFORMED_URL_MESSAGE },
  { name: 'root: wrong method → 405', request: send('DELETE', '/'), status: 405, dialect: 'ollama', message: '405 method not allowed' },
  { name: 'ollama: a `*` in an unknown path → 404 (was 500)', request: send('POST', '/api/*opy', [AUTH, JSON_TYPE], '{}'), status: 404, dialect: 'ollama', message: '404 page not found' },
  { name: 'ollama: wrong method on a parametric route → 405', request: send('GET', '/api/blobs/sha256:abc'), status: 405, dialect: 'ollama', message: '405 method not allowed' },
  {
    name: 'openai: OPTIONS without a preflight, on a /v1 path → 404 in OpenAI’s dialect',
    request: send('OPTIONS', '/v1/nope'),
    status: 404,
    dialect: 'openai',
    message: '404 page not found',
    openAi: { type: 'not_found_error', code: 'route_not_found' },
  },
  {
    name: 'openai: a refused Origin on a /v1 preflight → 403 in OpenAI’s dialect',
    request: send('OPTIONS', '/v1/models', [['Origin', 'https://evil.example'], ['Access-Control-Request-Method', 'GET']]),
    status: 403,
    dialect: 'openai',
    message: 'origin "https://evil.example" is not allowed; add it with --origins',
    openAi: { type: 'permission_error', code: 'forbidden' },
  },
  { name: 'root: malformed path → 400', request: send('GET', '/%'), status: 400, dialect: 'ollama', message: MALFORMED_URL_MESSAGE },
  { name: 'root: absolute-form URL with a malformed path → 400', request: send('GET', 'http://127.0.0.1/%zz'), status: 400, dialect: 'ollama', message: MALFORMED_URL_MESSAGE },
  {
    name: 'ollama: headers too large → 431',
    request: send('GET', '/api/tags', [AUTH, ['X-Filler', 'x'.repeat(20_000)]]),
    status: 431,
    dialect: 'ollama',
    message: 'the request headers are too large',
  },
  {
    name: 'openai: headers too large → 431',
    request: send('GET', '/v1/models', [AUTH, ['X-Filler', 'x'.repeat(20_000)]]),
    status: 431,
    dialect: 'openai',
    message: 'the request headers are too large',
    openAi: { type: 'api_error', code: 'bad_request' },
  },
  {
    name: 'openai: a header line that is not HTTP → 400',
    request: Buffer.from(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nnot a header\r\n\r\n`),
    status: 400,
    dialect: 'openai',
    message: 'malformed HTTP request',
    openAi: BAD_REQUEST,
  },
  { name: 'not HTTP at all → 400', request: Buffer.from('HELLO\r\n\r\n'), status: 400, dialect: 'ollama', message: 'malformed HTTP request' },
);

function expectErrorAnswer(answer: RawAnswer, row: Row): void {
  expect(answer.status, `${row.name}: ${answer.body.toString().slice(0, 300)}`).toBe(row.status);
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  const json: unknown = JSON.parse(answer.body.toString('utf8'));
  if (row.dialect === 'ollama') {
    const body = OllamaErrorResponse.parse(json);
    expect(body.error).toMatch(row.message);
    return;
  }
  const body = OpenAiErrorResponse.parse(json);
  expect(body.error.message).toMatch(row.message);
  expect(body.error.param).toBeNull();
  expect({ type: body.error.type, code: body.error.code }).toEqual(row.openAi);
}

describe('every error in the route’s dialect', () => {
  it.each(rows.map((row) => [row.name, row]))('%s', async (_name, row) => {
    expectErrorAnswer(await sendRaw(port, row.request), row);
  });

  it('the gateway still answers after all of them', async () => {
    const answer = await sendRaw(port, send('GET', '/api/version'));
    expect(answer.status).toBe(200);
  });
});

describe('bad input leaves no state behind that breaks later requests', () => {
  it('keep_alive past Go’s Duration range: loaded "forever" as in Ollama, and /api/ps still answers (was 500 for every later /api/ps)', async () => {
    for (const keepAlive of [1e308, 9.3e9]) {
      const body = JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }], keep_alive: keepAlive });
      expect((await sendRaw(port, send('POST', '/api/chat', [AUTH, JSON_TYPE], body))).status).toBe(200);
      const ps = await sendRaw(port, send('GET', '/api/ps'));
      expect(ps.status, ps.body.toString()).toBe(200);
    }
  });

  it('a keep_alive string past that range is refused as Go does', async () => {
    const body = JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }], keep_alive: '99999999999999h' });
    const answer = await sendRaw(port, send('POST', '/api/chat', [AUTH, JSON_TYPE], body));
    expectErrorAnswer(answer, { name: 'keep_alive', request: Buffer.alloc(0), status: 400, dialect: 'ollama', message: 'time: invalid duration "99999999999999h"' });
  });
});

describe('JSON depth and size are bounded before any work, in every free-form field', () => {
  /** `depth` objects inside one another: `{"a":{"a":{}}}` is 3. */
  const deepObject = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`);
  const tool = (parameters: unknown) => [{ type: 'function', function: { name: 'f', parameters } }];
  const user = [{ role: 'user', content: 'hi' }];
  /** Requests that put `value` in a free-form field (nested one level inside the body or deeper). */
  const fields: Array<{ name: string; path: string; body: (value: unknown) => unknown }> = [
    { name: 'Ollama chat format', path: '/api/chat', body: (value) => ({ model: 'openai/gpt-4o', stream: false, messages: user, format: value }) },
    { name: 'Ollama chat options', path: '/api/chat', body: (value) => ({ model: 'openai/gpt-4o', stream: false, messages: user, options: { stop: value } }) },
    { name: 'Ollama chat tool parameters', path: '/api/chat', body: (value) => ({ model: 'openai/gpt-4o', stream: false, messages: user, tools: tool(value) }) },
    { name: 'Ollama generate format', path: '/api/generate', body: (value) => ({ model: 'openai/gpt-4o', stream: false, prompt: 'hi', format: value }) },
    { name: 'Ollama show', path: '/api/show', body: (value) => ({ model: 'openai/gpt-4o', extra: value }) },
    { name: 'Ollama embed input', path: '/api/embed', body: (value) => ({ model: 'openai/text-embedding-3-small', input: value }) },
    { name: 'Ollama embeddings options', path: '/api/embeddings', body: (value) => ({ model: 'openai/text-embedding-3-small', prompt: 'hi', options: value }) },
    { name: 'OpenAI response_format schema', path: '/v1/chat/completions', body: (value) => ({ model: 'openai/gpt-4o', messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: value } } }) },
    { name: 'OpenAI tool parameters', path: '/v1/chat/completions', body: (value) => ({ model: 'openai/gpt-4o', messages: user, tools: tool(value) }) },
    { name: 'OpenAI completions prompt', path: '/v1/completions', body: (value) => ({ model: 'openai/gpt-4o', prompt: value }) },
    { name: 'OpenAI embeddings input', path: '/v1/embeddings', body: (value) => ({ model: 'openai/text-embedding-3-small', input: value }) },
  ];

  async function post(path: string, body: string): Promise<RawAnswer> {
    return sendRaw(port, send('POST', path, [AUTH, JSON_TYPE], body));
  }

  function expectDialectError(answer: RawAnswer, path: string, status: number, message: string | RegExp): void {
    expectErrorAnswer(answer, { name: path, request: Buffer.alloc(0), status, dialect: path.startsWith('/v1') ? 'openai' : 'ollama', message, openAi: BAD_REQUEST });
  }

  it.each(fields.map((field) => [field.name, field]))('%s: 100,000 levels deep → 400 (was 500)', async (_name, field) => {
    const body = JSON.stringify(field.body('@@')).replace('"@@"', nested(100_000));
    expectDialectError(await post(field.path, body), field.path, 400, DEEP_MESSAGE);
  });

  it('512 levels in all are accepted, 513 are not (the root object is level 1)', async () => {
    const body = (depth: number) => JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: user, format: deepObject(depth - 1) });
    const accepted = await post('/api/chat', body(512));
    expect(accepted.status, accepted.body.toString().slice(0, 300)).toBe(200);
    expectDialectError(await post('/api/chat', body(513)), '/api/chat', 400, DEEP_MESSAGE);
  });

  it('more than a million values → 400, on both front doors', async () => {
    const zeros = `[${'0,'.repeat(1_000_000)}0]`;
    for (const path of ['/api/embed', '/v1/embeddings']) {
      const body = `{"model":"openai/text-embedding-3-small","input":${zeros}}`;
      expectDialectError(await post(path, body), path, 400, 'request JSON has too many values: more than 1000000');
    }
  });

  it('millions of empty objects are refused before they are parsed', async () => {
    const body = `{"model":"openai/gpt-4o","messages":[${'{},'.repeat(2_000_000)}{}]}`;
    expectDialectError(await post('/v1/chat/completions', body), '/v1/chat/completions', 400, 'request JSON has too many values: more than 1000000');
  });

  it('braces and brackets inside strings are not nesting', async () => {
    const content = `${'{['.repeat(100_000)} \\" ${']}'.repeat(100_000)}`;
    const answer = await post('/api/chat', JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content }] }));
    expect(answer.status, answer.body.toString().slice(0, 300)).toBe(200);
  });
});
