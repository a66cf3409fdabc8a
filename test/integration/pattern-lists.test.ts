/**
 * The three lists users write patterns in, over real HTTP: a key's `--models` (read as the
 * models filter reads its lines), the models filter itself, and `--origins`. One glob
 * compiler serves all three (core/glob.ts); these pin what each list does with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

async function call(path: string, options: { key?: string; body?: unknown; headers?: Record<string, string>; base?: string } = {}) {
  const response = await request(`${options.base ?? gateway.url}${path}`, {
    method: options.body === undefined ? 'GET' : 'POST',
    headers: { ...(options.key === undefined ? {} : { authorization: `Bearer ${options.key}` }), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, json: () => JSON.parse(text) };
}

const listed = async (key: string): Promise<string[]> =>
  (await call('/api/tags', { key })).json().models.map((model: { name: string }) => model.name.replace(/:latest$/, '')).sort();

const chatStatus = async (key: string, model: string): Promise<number> =>
  (await call('/api/chat', { key, body: { model, stream: false, messages: [{ role: 'user', content: 'hi' }] } })).status;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-patterns-'));
  const keysFile = join(directory, 'keys.json');
  const create = (name: string, models: string[]) => (keys[name] = lastLine(createKeyCommand({ keysFile, name, models })));
  create('openai-but-one', ['openai/*', '!openai/gpt-4.1']);
  create('all-but-deepseek', ['!deepseek/*']);
  create('short-names', ['mistral-small', '*:free']);
  create('any-case', ['OpenAI/GPT-4o:latest']);
  create('re-included', ['!openai/*', 'openai/gpt-4o']);
  gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("a key's --models, read as the models filter reads its lines", () => {
  it('! excludes, and the last entry that matches decides', async () => {
    const names = await listed(keys['openai-but-one']!);
    expect(names).toContain('openai/gpt-4o');
    expect(names).not.toContain('openai/gpt-4.1');
    expect(names.every((name) => name.startsWith('openai/'))).toBe(true);
    expect(await chatStatus(keys['openai-but-one']!, 'openai/gpt-4.1')).toBe(403);
    expect(await chatStatus(keys['openai-but-one']!, 'openai/gpt-4o')).toBe(200);
    expect(await chatStatus(keys['openai-but-one']!, 'anthropic/claude-sonnet-4.5')).toBe(403);
  });

  it('a list of only ! entries allows every other model', async () => {
    const names = await listed(keys['all-but-deepseek']!);
    expect(names).toContain('anthropic/claude-sonnet-4.5');
    expect(names.some((name) => name.startsWith('deepseek/'))).toBe(false);
    expect(await chatStatus(keys['all-but-deepseek']!, 'deepseek/deepseek-r1')).toBe(403);
  });

  it('an entry later in the list takes back an earlier exclusion', async () => {
    expect(await listed(keys['re-included']!)).toEqual(['openai/gpt-4o']);
  });

  it('a short name or a glob without a slash matches any vendor; case and :latest are ignored', async () => {
    expect(await listed(keys['short-names']!)).toEqual(['deepseek/deepseek-chat-v3:free', 'mistralai/mistral-small', 'thirdparty/mistral-small']);
    expect(await listed(keys['any-case']!)).toEqual(['openai/gpt-4o']);
  });
});

describe('the models filter, through the same compiler', () => {
  it('serves what its lines say: short names for any vendor, globs, and ! after a glob', async () => {
    const filterFile = join(directory, 'filter.txt');
    writeFileSync(filterFile, 'mistral-small\nopenai/*\n!*embedding*\n');
    const filtered = await startGateway(fake.baseUrl, { MODELS_FILTER: filterFile });
    try {
      const names = (await call('/api/tags', { base: filtered.url })).json().models.map((model: { name: string }) => model.name.replace(/:latest$/, '')).sort();
      expect(names).toEqual(['mistralai/mistral-small', 'openai/gpt-4.1', 'openai/gpt-4o', 'thirdparty/mistral-small']);
    } finally {
      await filtered.close();
    }
  });
});

describe('--origins: a * matches any characters, dots and slashes included, as in Ollama', () => {
  it('allows what the patterns say, ignoring case, and nothing else', async () => {
    const custom = await startGateway(fake.baseUrl, { OLLAMA_ORIGINS: 'https://*.example.com, http://Intranet.Local:*' });
    try {
      const status = async (origin: string) => (await call('/api/tags', { base: custom.url, headers: { origin } })).status;
      expect(await status('https://chat.example.com')).toBe(200);
      expect(await status('https://a.b.example.com')).toBe(200);
      expect(await status('http://intranet.local:8080')).toBe(200);
      expect(await status('http://[::1]:5173')).toBe(200);
      expect(await status('https://example.com')).toBe(403);
      expect(await status('https://chat.example.com.evil.net')).toBe(403);
    } finally {
      await custom.close();
    }
  });
});
