/**
 * Client keys on /v1: per-key model access (403 in OpenAI's shape, /v1/models filtered) and
 * token accounting from the usage the answers report, on every /v1 path (passthrough
 * stream and non-stream, IR completions, embeddings).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let directory: string;
let gateway: TestGateway;
const keys: Record<string, string> = {};

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'openai-keys-'));
  const keysFile = join(directory, 'keys.json');
  const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
  keys.limited = lastLine(createKeyCommand({ keysFile, name: 'openai-only', models: ['openai/*'] }));
  for (const name of ['stream', 'json', 'completion', 'embed']) keys[name] = lastLine(createKeyCommand({ keysFile, name }));
  gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, RATE_LIMIT_TPM: 10 });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function call(key: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await request(`${gateway.url}/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text, json: () => JSON.parse(text) };
}

const user = [{ role: 'user', content: 'hi there' }];

describe('/v1 with client keys', () => {
  it("lists only the key's models and answers 403 (permission_error) for the others", async () => {
    const ids: string[] = (await call(keys.limited!, 'GET', '/models')).json().data.map((model: { id: string }) => model.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id) => id.startsWith('openai/'))).toBe(true);
    const forbidden = await call(keys.limited!, 'POST', '/chat/completions', { model: 'anthropic/claude-sonnet-4.5', messages: user, stream: true });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json().error).toMatchObject({ type: 'permission_error', message: "this API key may not use model 'anthropic/claude-sonnet-4.5'" });
    expect((await call(keys.limited!, 'GET', '/models/anthropic/claude-sonnet-4.5')).status).toBe(403);
    expect((await call(keys.limited!, 'GET', '/models/openai/gpt-4o')).status).toBe(200);
  });

  it('counts the tokens of a passthrough stream against the key', async () => {
    expect((await call(keys.stream!, 'POST', '/chat/completions', { model: 'openai/gpt-4o', messages: user, stream: true })).status).toBe(200);
    expect((await call(keys.stream!, 'POST', '/chat/completions', { model: 'openai/gpt-4o', messages: user, stream: true })).status).toBe(429);
  });

  it('counts the tokens of a passthrough non-stream answer against the key', async () => {
    expect((await call(keys.json!, 'POST', '/chat/completions', { model: 'openai/gpt-4o', messages: user })).status).toBe(200);
    expect((await call(keys.json!, 'POST', '/chat/completions', { model: 'openai/gpt-4o', messages: user })).status).toBe(429);
  });

  it('counts the tokens of a legacy completion stream against the key', async () => {
    expect((await call(keys.completion!, 'POST', '/completions', { model: 'openai/gpt-4o', prompt: 'hello there', stream: true })).status).toBe(200);
    expect((await call(keys.completion!, 'POST', '/completions', { model: 'openai/gpt-4o', prompt: 'hello there' })).status).toBe(429);
  });

  it('counts the tokens of embeddings against the key', async () => {
    const input = Array.from({ length: 12 }, (_, index) => `text ${index}`);
    expect((await call(keys.embed!, 'POST', '/embeddings', { model: 'openai/text-embedding-3-small', input })).status).toBe(200);
    expect((await call(keys.embed!, 'POST', '/embeddings', { model: 'openai/text-embedding-3-small', input: 'x' })).status).toBe(429);
  });
});
