/**
 * Model management on an upstream Ollama needs a key with the admin scope (issue 12 §2), and
 * blob uploads have a limit. Over real HTTP against the fake Ollama.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { hashKey } from '../../src/auth/api-keys.js';
import { createKeyCommand, listKeysCommand } from '../../src/auth/keys-command.js';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let ollama: FakeOllama;
let gateway: TestGateway;
let directory: string;
let keysFile: string;
let userKey: string;
let adminKey: string;

const BLOB_LIMIT = 4096;
const PLAIN_KEY = 'plain-team-key';
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function call(base: string, method: 'GET' | 'POST' | 'DELETE' | 'HEAD', path: string, key: string | undefined, body?: unknown) {
  const response = await request(`${base}${path}`, {
    method,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

const MANAGEMENT: Array<[string, 'POST' | 'DELETE' | 'HEAD', string, unknown]> = [
  ['pull', 'POST', '/api/pull', { model: 'mistral:7b' }],
  ['push', 'POST', '/api/push', { model: 'llama3.2' }],
  ['create', 'POST', '/api/create', { model: 'mine', from: 'llama3.2', system: 'be brief' }],
  ['copy', 'POST', '/api/copy', { source: 'llama3.2', destination: 'copied' }],
  ['delete', 'DELETE', '/api/delete', { model: 'llama3.2' }],
  ['blob check', 'HEAD', `/api/blobs/sha256:${'0'.repeat(64)}`, undefined],
  ['blob upload', 'POST', `/api/blobs/sha256:${'0'.repeat(64)}`, 'bytes'],
];

/** Requests that reached Ollama other than the catalog's own refresh (its model list and each model's show), which may come at any moment. */
const CATALOG_REFRESH = new Set(['/api/tags', '/api/show']);
const forwarded = (): number => ollama.requests.filter((record) => !CATALOG_REFRESH.has(record.path)).length;

beforeAll(async () => {
  ollama = await startFakeOllama();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-scopes-'));
  keysFile = join(directory, 'keys.json');
  userKey = lastLine(createKeyCommand({ keysFile, name: 'user' }));
  adminKey = lastLine(createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }));
  gateway = await startGateway('http://127.0.0.1:9/api/v1', {
    OPENROUTER_API_KEY: undefined,
    OLLAMA_BASE_URL: ollama.baseUrl,
    BRIDGE_KEYS_FILE: keysFile,
    BRIDGE_API_KEYS: PLAIN_KEY,
    BLOB_LIMIT_BYTES: BLOB_LIMIT,
  });
});
afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a key without the admin scope', () => {
  it.each(MANAGEMENT)('%s: 403 in the Ollama dialect, and nothing reaches Ollama', async (_name, method, path, body) => {
    for (const key of [userKey, PLAIN_KEY]) {
      const before = forwarded();
      const answer = await call(gateway.url, method, path, key, body);
      expect(answer.status).toBe(403);
      if (method !== 'HEAD') {
        expect(Object.keys(JSON.parse(answer.text))).toEqual(['error']);
        expect(JSON.parse(answer.text).error).toContain('admin scope');
      }
      expect(forwarded()).toBe(before);
    }
  });

  it('still uses models', async () => {
    const chat = await call(gateway.url, 'POST', '/api/chat', userKey, { model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(200);
    expect((await call(gateway.url, 'POST', '/api/show', PLAIN_KEY, { model: 'llama3.2' })).status).toBe(200);
  });

  it('a missing key is still 401 there, not 403', async () => {
    expect((await call(gateway.url, 'POST', '/api/pull', undefined, { model: 'x' })).status).toBe(401);
  });
});

describe('a key with the admin scope', () => {
  it('pulls, copies and deletes', async () => {
    expect((await call(gateway.url, 'POST', '/api/pull', adminKey, { model: 'mistral:7b', stream: false })).status).toBe(200);
    expect((await call(gateway.url, 'POST', '/api/copy', adminKey, { source: 'mistral:7b', destination: 'mistral-copy' })).status).toBe(200);
    expect((await call(gateway.url, 'DELETE', '/api/delete', adminKey, { model: 'mistral-copy' })).status).toBe(200);
  });

  it('uploads a blob within the limit', async () => {
    const bytes = Buffer.alloc(BLOB_LIMIT, 7);
    const upload = await request(`${gateway.url}/api/blobs/${digestOf(bytes)}`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${adminKey}` } });
    await upload.body.text();
    expect(upload.statusCode).toBe(201);
  });
});

describe('the blob limit', () => {
  it('a declared length beyond it: 413 before anything is read or sent upstream', async () => {
    const bytes = Buffer.alloc(BLOB_LIMIT + 1, 1);
    const before = forwarded();
    const upload = await request(`${gateway.url}/api/blobs/${digestOf(bytes)}`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${adminKey}` } });
    const text = await upload.body.text();
    expect(upload.statusCode).toBe(413);
    expect(JSON.parse(text).error).toContain('--blob-limit');
    expect(forwarded()).toBe(before);
  });

  it('a chunked upload that grows beyond it: 413, and Ollama never stores it', async () => {
    const bytes = Buffer.alloc(BLOB_LIMIT * 4, 2);
    const digest = digestOf(bytes);
    const pieces = Array.from({ length: 16 }, (_unused, index) => bytes.subarray(index * BLOB_LIMIT / 4, (index + 1) * BLOB_LIMIT / 4));
    const upload = await request(`${gateway.url}/api/blobs/${digest}`, { method: 'POST', body: Readable.from(pieces), headers: { authorization: `Bearer ${adminKey}` } });
    const text = await upload.body.text();
    expect(upload.statusCode).toBe(413);
    expect(JSON.parse(text).error).toContain('larger than the limit');
    const check = await call(gateway.url, 'HEAD', `/api/blobs/${digest}`, adminKey);
    expect(check.status).toBe(404);
    const stored = ollama.requests.filter((record) => record.path === `/api/blobs/${digest}` && record.method === 'POST');
    expect(stored.every((record) => record.status !== 201)).toBe(true);
  });

  it('the gateway keeps serving after a refused upload', async () => {
    expect((await call(gateway.url, 'GET', '/api/tags', userKey)).status).toBe(200);
  });
});

describe('an open gateway (no keys, loopback)', () => {
  it('manages models as Ollama itself does', async () => {
    const open = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
    try {
      expect((await call(open.url, 'POST', '/api/copy', undefined, { source: 'llama3.2', destination: 'open-copy' })).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('scopes in the keys file', () => {
  it('keys create --admin stores the scope (file version 2), and keys list shows it', () => {
    const file = JSON.parse(readFileSync(keysFile, 'utf8'));
    expect(file.version).toBe(2);
    expect(file.keys.map((key: { name: string; scopes?: string[] }) => [key.name, key.scopes])).toEqual([['user', undefined], ['operator', ['admin']]]);
    const listing = listKeysCommand(keysFile).split('\n');
    expect(listing[0]).toMatch(/SCOPES$/);
    expect(listing.find((line) => line.includes('operator'))).toMatch(/admin$/);
    expect(listing.find((line) => line.includes(' user '))).toMatch(/-$/);
  });

  it('an unknown scope is refused by keys create', () => {
    expect(() => createKeyCommand({ keysFile, name: 'typo', scopes: ['amdin'] })).toThrow(/unknown scope "amdin"/);
  });

  it('a version 1 file (before scopes) still loads: its keys work, without management', async () => {
    const oldFile = join(directory, 'v1.json');
    const oldKey = 'obk_oldkey01_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    writeFileSync(oldFile, JSON.stringify({ version: 1, keys: [{ id: 'oldkey01', name: 'old', hash: hashKey(oldKey), createdAt: '2025-01-01T00:00:00.000Z' }] }));
    const old = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: oldFile });
    try {
      expect((await call(old.url, 'GET', '/api/tags', oldKey)).status).toBe(200);
      expect((await call(old.url, 'POST', '/api/pull', oldKey, { model: 'x' })).status).toBe(403);
    } finally {
      await old.close();
    }
  });

  it('a version 1 file that names scopes is refused, not read as no scopes', async () => {
    const badFile = join(directory, 'v1-scopes.json');
    writeFileSync(badFile, JSON.stringify({ version: 1, keys: [{ id: 'k', name: 'k', hash: hashKey('k'), createdAt: '2025-01-01T00:00:00.000Z', scopes: ['admin'] }] }));
    await expect(startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: badFile }))
      .rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('scopes need "version": 2') });
  });
});
