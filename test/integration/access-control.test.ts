/**
 * Client access control (issue 5) over real HTTP, in both dialects, with the real clients.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { createKeyCommand, revokeKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let directory: string;
let keysFile: string;
let gateway: TestGateway;
let logText = '';
let allKey: string;
let openAiOnlyKey: string;
let expiringKeyFile: string;

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

async function call(path: string, options: { method?: 'GET' | 'POST' | 'HEAD' | 'OPTIONS'; headers?: Record<string, string>; body?: unknown; base?: string } = {}) {
  const response = await request(`${options.base ?? gateway.url}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: options.headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-keys-'));
  keysFile = join(directory, 'keys.json');
  allKey = lastLine(createKeyCommand({ keysFile, name: 'everything' }));
  openAiOnlyKey = lastLine(createKeyCommand({ keysFile, name: 'openai-only', models: ['openai/*'] }));
  const logs = new PassThrough();
  logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, LOG_LEVEL: 'debug' }, { logDestination: logs });
  expiringKeyFile = join(directory, 'expiring.json');
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('keys file', () => {
  it('stores only hashes, never a key', () => {
    const text = readFileSync(keysFile, 'utf8');
    expect(text).not.toContain(allKey);
    expect(text).not.toContain(allKey.split('_')[2]!);
    expect(JSON.parse(text).keys.map((key: { hash: string }) => key.hash)).toEqual([expect.stringMatching(/^sha256:[0-9a-f]{64}$/), expect.stringMatching(/^sha256:[0-9a-f]{64}$/)]);
  });
});

describe('presenting a key', () => {
  it.each([
    ['Authorization: Bearer', () => ({ authorization: `Bearer ${allKey}` })],
    ['X-API-Key', () => ({ 'x-api-key': allKey })],
    ['api-key', () => ({ 'api-key': allKey })],
    ['Basic (user:key@host URLs)', () => ({ authorization: `Basic ${Buffer.from(`anyone:${allKey}`).toString('base64')}` })],
  ])('accepts %s', async (_name, headers) => {
    expect((await call('/api/tags', { headers: headers() })).status).toBe(200);
  });

  it('accepts a /key/<key> path prefix for URL-only clients, and keeps the key out of the logs', async () => {
    const tags = await call(`/key/${allKey}/api/tags`);
    expect(tags.status).toBe(200);
    expect(tags.json().models.length).toBeGreaterThan(3);
    const chat = await call(`/key/${allKey}/api/chat`, { body: { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] } });
    expect(chat.status).toBe(200);
    expect(logText).toContain('/api/tags');
    expect(logText).not.toContain(allKey);
  });

  it('refuses a missing key with 401 in the Ollama dialect', async () => {
    const answer = await call('/api/tags');
    expect(answer.status).toBe(401);
    expect(Object.keys(answer.json())).toEqual(['error']);
    expect(answer.json().error).toContain('API key is required');
  });

  it('refuses a missing key with 401 in the OpenAI dialect on /v1', async () => {
    const answer = await call('/v1/models');
    expect(answer.status).toBe(401);
    expect(answer.json()).toMatchObject({ error: { message: expect.stringContaining('API key is required'), type: 'authentication_error' } });
  });

  it.each([
    ['a wrong key', 'obk_wrongkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a very long key', 'x'.repeat(10_000)],
    ['a non-ASCII key', 'clé-secrète'],
    ['the key with one character changed', () => `${allKey.slice(0, -1)}${allKey.endsWith('a') ? 'b' : 'a'}`],
  ])('refuses %s with 401', async (_name, key) => {
    const value = typeof key === 'function' ? key() : key;
    const answer = await call('/api/tags', { headers: { 'x-api-key': value } });
    expect(answer.status).toBe(401);
    expect(answer.json()).toEqual({ error: 'invalid API key' });
  });

  it('treats an empty Bearer as no key', async () => {
    expect((await call('/api/tags', { headers: { authorization: 'Bearer ' } })).status).toBe(401);
  });

  it('does not accept a key in the query string', async () => {
    expect((await call(`/api/tags?api_key=${allKey}`)).status).toBe(401);
  });

  it('leaves the liveness and version probes public', async () => {
    expect((await call('/')).status).toBe(200);
    expect((await call('/api/version')).status).toBe(200);
    expect((await call('/', { method: 'HEAD' })).status).toBe(200);
  });

  it('logs the key id, never the key', async () => {
    await call('/api/tags', { headers: { authorization: `Bearer ${openAiOnlyKey}` } });
    const id = openAiOnlyKey.split('_')[1]!;
    expect(logText).toContain(`"keyId":"${id}"`);
    expect(logText).not.toContain(openAiOnlyKey);
    expect(logText).not.toContain('Bearer');
  });
});

describe('several credentials on one request', () => {
  it.each([
    ['a dummy Bearer next to a /key/<key> path', (key: string) => ({ path: `/key/${key}/api/tags`, headers: { authorization: 'Bearer ollama' } }), 'path'],
    ['a wrong X-API-Key next to a valid Bearer', (key: string) => ({ path: '/api/tags', headers: { authorization: `Bearer ${key}`, 'x-api-key': 'wrong' } }), 'authorization'],
    ['a wrong Bearer next to a valid api-key', (key: string) => ({ path: '/api/tags', headers: { authorization: 'Bearer sk-wrong', 'api-key': key } }), 'api-key'],
    ['a wrong Basic password next to a valid X-API-Key', (key: string) => ({ path: '/api/tags', headers: { authorization: `Basic ${Buffer.from('me:wrong').toString('base64')}`, 'x-api-key': key } }), 'x-api-key'],
  ])('accepts %s, and logs how the key came, never the key', async (_name, build, source) => {
    const { path, headers } = build(openAiOnlyKey);
    const before = logText.length;
    const answer = await call(path, { headers });
    expect(answer.status).toBe(200);
    const lines = logText.slice(before);
    expect(lines).toContain(`"keySource":"${source}"`);
    expect(lines).toContain(`"keyId":"${openAiOnlyKey.split('_')[1]!}"`);
    expect(lines).not.toContain(openAiOnlyKey);
  });

  it('refuses with 401 when none of them is valid', async () => {
    const answer = await call('/key/obk_nope/api/tags', { headers: { authorization: 'Bearer ollama', 'x-api-key': 'also-wrong' } });
    expect(answer.status).toBe(401);
    expect(answer.json()).toEqual({ error: 'invalid API key' });
  });
});

describe('per-key model access', () => {
  const headers = () => ({ authorization: `Bearer ${openAiOnlyKey}` });

  it('lists only the key\'s models in /api/tags and /v1/models', async () => {
    const names = (await call('/api/tags', { headers: headers() })).json().models.map((model: { name: string }) => model.name);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name.startsWith('openai/')).toBe(true);
    const ids = (await call('/v1/models', { headers: headers() })).json().data.map((model: { id: string }) => model.id);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id.startsWith('openai/')).toBe(true);
  });

  it('answers 403 for another model, in each dialect', async () => {
    const ollama = await call('/api/chat', { headers: headers(), body: { model: 'anthropic/claude-sonnet-4.5', messages: [{ role: 'user', content: 'hi' }] } });
    expect(ollama.status).toBe(403);
    expect(ollama.json()).toEqual({ error: "this API key may not use model 'anthropic/claude-sonnet-4.5'" });
    const show = await call('/api/show', { headers: headers(), body: { model: 'anthropic/claude-sonnet-4.5' } });
    expect(show.status).toBe(403);
    const openai = await call('/v1/chat/completions', { headers: headers(), body: { model: 'anthropic/claude-sonnet-4.5', messages: [{ role: 'user', content: 'hi' }] } });
    expect(openai.status).toBe(403);
    expect(openai.json().error).toMatchObject({ type: 'permission_error' });
    expect(fake.chatRequests().some((record) => record.body.model === 'anthropic/claude-sonnet-4.5')).toBe(false);
  });

  it('filters /api/ps to the key\'s models', async () => {
    await call('/api/chat', { headers: { authorization: `Bearer ${allKey}` }, body: { model: 'deepseek/deepseek-r1', stream: false, messages: [{ role: 'user', content: 'hi' }] } });
    await call('/api/chat', { headers: headers(), body: { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] } });
    const everything = (await call('/api/ps', { headers: { authorization: `Bearer ${allKey}` } })).json().models.map((model: { name: string }) => model.name);
    expect(everything).toContain('deepseek/deepseek-r1:latest');
    const limited = (await call('/api/ps', { headers: headers() })).json().models.map((model: { name: string }) => model.name);
    expect(limited).toContain('openai/gpt-4o:latest');
    expect(limited).not.toContain('deepseek/deepseek-r1:latest');
  });
});

describe('the real clients', () => {
  it('ollama-js with a Bearer header works, and a wrong key is a ResponseError 401', async () => {
    const client = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${allKey}` } });
    expect((await client.list()).models.length).toBeGreaterThan(0);
    const answer = await client.chat({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.message.content).toContain('hi');
    const wrong = new Ollama({ host: gateway.url, headers: { Authorization: 'Bearer nope' } });
    await expect(wrong.list()).rejects.toMatchObject({ name: 'ResponseError', status_code: 401 });
  });

  it('the openai SDK with apiKey works, and a wrong key is an AuthenticationError', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: openAiOnlyKey });
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(completion.choices[0]!.message.content).toContain('hello');
    const wrong = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe('without a restart', () => {
  it('revoking a key locks it out within a second or two; adding one lets it in', async () => {
    const temporary = lastLine(createKeyCommand({ keysFile, name: 'temporary' }));
    const deadline = Date.now() + 3000;
    while ((await call('/api/tags', { headers: { 'x-api-key': temporary } })).status !== 200) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    revokeKeyCommand(keysFile, 'temporary');
    const revokeDeadline = Date.now() + 3000;
    while ((await call('/api/tags', { headers: { 'x-api-key': temporary } })).status !== 401) {
      expect(Date.now()).toBeLessThan(revokeDeadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await call('/api/tags', { headers: { 'x-api-key': allKey } })).status).toBe(200);
  });

  it('an expired key is refused', async () => {
    const key = lastLine(createKeyCommand({ keysFile: expiringKeyFile, name: 'short-lived', expires: '2026-01-01', now: new Date('2025-06-01') }));
    const expiring = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: expiringKeyFile });
    try {
      const answer = await call('/api/tags', { base: expiring.url, headers: { 'x-api-key': key } });
      expect(answer.status).toBe(401);
      expect(answer.json()).toEqual({ error: 'this API key has expired' });
    } finally {
      await expiring.close();
    }
  });
});

describe('an expiry that is not a date', () => {
  it('fails closed: the key is refused, and the load says why once, naming the id, never the key', async () => {
    const file = join(directory, 'bad-expiry.json');
    const key = lastLine(createKeyCommand({ keysFile: file, name: 'typo' }));
    const good = lastLine(createKeyCommand({ keysFile: file, name: 'fine' }));
    const contents = JSON.parse(readFileSync(file, 'utf8'));
    contents.keys[0].expiresAt = '31/01/2027';
    writeFileSync(file, JSON.stringify(contents));
    let lines = '';
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => (lines += chunk.toString('utf8')));
    const gatewayWithTypo = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: file, LOG_LEVEL: 'info' }, { logDestination: logs });
    try {
      expect((await call('/api/tags', { base: gatewayWithTypo.url, headers: { 'x-api-key': key } })).status).toBe(401);
      expect((await call('/api/tags', { base: gatewayWithTypo.url, headers: { 'x-api-key': key } })).status).toBe(401);
      expect((await call('/api/tags', { base: gatewayWithTypo.url, headers: { 'x-api-key': good } })).status).toBe(200);
      const warnings = lines.split('\n').filter((line) => line.includes('not a date'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(key.split('_')[1]!);
      expect(lines).not.toContain(key);
    } finally {
      await gatewayWithTypo.close();
    }
  });
});

describe('simple setups', () => {
  it('--api-keys accepts the listed keys', async () => {
    const simple = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'first-key, second-key' });
    try {
      expect((await call('/api/tags', { base: simple.url, headers: { authorization: 'Bearer second-key' } })).status).toBe(200);
      expect((await call('/api/tags', { base: simple.url, headers: { authorization: 'Bearer third-key' } })).status).toBe(401);
    } finally {
      await simple.close();
    }
  });

  it('a plain key\'s log id is not derived from the key\'s bare hash (a guess could be tested offline)', async () => {
    let lines = '';
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => (lines += chunk.toString('utf8')));
    const simple = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'hunter2', LOG_LEVEL: 'info' }, { logDestination: logs });
    try {
      expect((await call('/api/tags', { base: simple.url, headers: { authorization: 'Bearer hunter2' } })).status).toBe(200);
      const keyId = /"keyId":"([^"]+)"/.exec(lines)?.[1];
      expect(keyId).toMatch(/^[0-9a-f]{8}$/);
      const bareHash = createHash('sha256').update('hunter2').digest('hex');
      expect(bareHash).not.toContain(keyId);
      expect(lines).not.toContain('hunter2');
    } finally {
      await simple.close();
    }
  });

  it('a plain keys.txt is accepted, with a warning that it is plaintext', async () => {
    const plainFile = join(directory, 'keys.txt');
    writeFileSync(plainFile, '# one key per line\nplain-key-one\nplain-key-two\n');
    let warnings = '';
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => (warnings += chunk.toString('utf8')));
    const plain = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: plainFile, LOG_LEVEL: 'warn' }, { logDestination: logs });
    try {
      expect((await call('/api/tags', { base: plain.url, headers: { 'x-api-key': 'plain-key-two' } })).status).toBe(200);
      expect(warnings).toContain('plaintext keys');
      expect(warnings).not.toContain('plain-key-two');
    } finally {
      await plain.close();
    }
  });
});

describe('safe defaults', () => {
  it('refuses to serve a non-loopback address without keys, explaining why', async () => {
    await expect(startGateway(fake.baseUrl, { HOST: '0.0.0.0' })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('without client keys') });
  });

  it('serves it when told explicitly', async () => {
    const open = await startGateway(fake.baseUrl, { HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: true });
    try {
      expect((await call('/api/tags', { base: open.url })).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('with --generate-key (the Docker image), generates a key for the run and requires it', async () => {
    const generated = await startGateway(fake.baseUrl, { HOST: '0.0.0.0', BRIDGE_GENERATE_KEY: true });
    try {
      const key = generated.app.generatedKey!;
      expect(key).toMatch(/^obk_[a-z0-9]{8}_[A-Za-z0-9]{32}$/);
      expect((await call('/api/tags', { base: generated.url })).status).toBe(401);
      expect((await call('/api/tags', { base: generated.url, headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      await generated.close();
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the requests-per-minute limit, in each dialect', async () => {
    const limited = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'rpm-key', RATE_LIMIT_RPM: 2 });
    try {
      const headers = { authorization: 'Bearer rpm-key' };
      // Listing costs nothing upstream and spends no budget (rate-limits.test.ts); chats do.
      const body = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };
      expect((await call('/api/chat', { base: limited.url, headers, body })).status).toBe(200);
      expect((await call('/api/chat', { base: limited.url, headers, body })).status).toBe(200);
      const third = await call('/api/chat', { base: limited.url, headers, body });
      expect(third.status).toBe(429);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect(third.json().error).toContain('2 requests per minute');
      const openai = await call('/v1/chat/completions', { base: limited.url, headers, body });
      expect(openai.status).toBe(429);
      expect(openai.json().error.type).toBe('rate_limit_error');
    } finally {
      await limited.close();
    }
  });

  it('counts tokens from usage against the tokens-per-minute limit', async () => {
    const limited = await startGateway(fake.baseUrl, { BRIDGE_API_KEYS: 'tpm-key', RATE_LIMIT_TPM: 10 });
    try {
      const headers = { authorization: 'Bearer tpm-key' };
      const body = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'a long enough question to use tokens' }] };
      expect((await call('/api/chat', { base: limited.url, headers, body })).status).toBe(200);
      const next = await call('/api/chat', { base: limited.url, headers, body });
      expect(next.status).toBe(429);
      expect(next.json().error).toContain('10 tokens per minute');
    } finally {
      await limited.close();
    }
  });
});

describe('browsers', () => {
  it('answers a CORS preflight from an allowed origin', async () => {
    for (const origin of ['http://localhost:3000', 'app://obsidian.md', 'vscode-webview://abc']) {
      const preflight = await call('/api/chat', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    }
  });

  it('gives a preflight the methods, headers and lifetime a browser checks, with no body and no key', async () => {
    for (const path of ['/api/chat', '/v1/chat/completions', '/v1/messages']) {
      const preflight = await call(path, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,anthropic-version' } });
      expect(preflight.status).toBe(204);
      expect(preflight.text).toBe('');
      expect(preflight.headers['content-length']).toBe('0');
      expect(String(preflight.headers['access-control-allow-methods']).split(', ')).toEqual(expect.arrayContaining(['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS']));
      const allowedHeaders = String(preflight.headers['access-control-allow-headers']).toLowerCase().split(', ');
      expect(allowedHeaders).toEqual(expect.arrayContaining(['authorization', 'content-type', 'anthropic-version', 'x-api-key', 'x-stainless-timeout']));
      expect(preflight.headers['access-control-max-age']).toBe('86400');
      expect(preflight.headers.vary).toBe('Origin');
    }
  });

  it('puts CORS headers on refusals from an allowed origin, so the page can read them', async () => {
    const refused = await call('/api/chat', { headers: { origin: 'http://localhost:3000' }, body: { model: 'x', messages: [] } });
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(refused.headers.vary).toBe('Origin');
  });

  it('answers a request without an Origin with no CORS headers, and OPTIONS without one as a method the path lacks', async () => {
    const plain = await call('/api/tags', { headers: { authorization: `Bearer ${allKey}` } });
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.headers).filter((name) => name.startsWith('access-control-') || name === 'vary')).toEqual([]);
    const options = await call('/api/chat', { method: 'OPTIONS' });
    expect(options.status).toBe(405);
    expect(options.json()).toEqual({ error: expect.any(String) });
  });

  it('refuses any other origin with 403', async () => {
    const preflight = await call('/api/chat', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(403);
    const simple = await call('/api/tags', { headers: { origin: 'https://evil.example', authorization: `Bearer ${allKey}` } });
    expect(simple.status).toBe(403);
  });

  it('allows origins added with --origins', async () => {
    const custom = await startGateway(fake.baseUrl, { OLLAMA_ORIGINS: 'https://chat.example.com' });
    try {
      const answer = await call('/api/tags', { base: custom.url, headers: { origin: 'https://chat.example.com' } });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe('https://chat.example.com');
      // A page can read which model served its answer (fallbacks) and when to retry.
      expect(answer.headers['access-control-expose-headers']).toBe('X-Ollama-Bridge-Model, Retry-After');
    } finally {
      await custom.close();
    }
  });

  it('refuses a foreign Host header on a loopback bind (DNS rebinding)', async () => {
    const rebinding = await call('/api/tags', { headers: { host: 'attacker.example:11434', authorization: `Bearer ${allKey}` } });
    expect(rebinding.status).toBe(403);
    const local = await call('/api/tags', { headers: { host: 'localhost:11434', authorization: `Bearer ${allKey}` } });
    expect(local.status).toBe(200);
  });
});

describe('request size', () => {
  it('answers 413 beyond the body limit', async () => {
    const small = await startGateway(fake.baseUrl, { BODY_LIMIT_BYTES: 2048 });
    try {
      const answer = await call('/api/chat', { base: small.url, body: { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(5000) }] } });
      expect(answer.status).toBe(413);
      expect(answer.json()).toEqual({ error: 'request body is too large' });
    } finally {
      await small.close();
    }
  });
});

describe('per-key limits', () => {
  it('a key created with --rpm has its own requests-per-minute limit', async () => {
    const limitedFile = join(directory, 'limited.json');
    const key = lastLine(createKeyCommand({ keysFile: limitedFile, name: 'one-per-minute', requestsPerMinute: 1 }));
    const other = lastLine(createKeyCommand({ keysFile: limitedFile, name: 'unlimited' }));
    const limited = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: limitedFile });
    try {
      const body = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };
      expect((await call('/api/chat', { base: limited.url, headers: { 'x-api-key': key }, body })).status).toBe(200);
      expect((await call('/api/chat', { base: limited.url, headers: { 'x-api-key': key }, body })).status).toBe(429);
      expect((await call('/api/chat', { base: limited.url, headers: { 'x-api-key': other }, body })).status).toBe(200);
      expect((await call('/api/chat', { base: limited.url, headers: { 'x-api-key': other }, body })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});
