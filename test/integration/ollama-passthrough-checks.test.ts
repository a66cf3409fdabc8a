/**
 * The Ollama passthrough forwards exactly what the gateway checked (issue 12 §2). The fake
 * Ollama decodes bodies as Go does (case-insensitive keys, the last spelling wins), so each
 * test shows which model a real Ollama would have run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { DEFAULT_MODELS, startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let ollama: FakeOllama;
let gateway: TestGateway;
let directory: string;
let limitedKey: string;
let adminKey: string;

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
const llama = DEFAULT_MODELS.find((model) => model.name === 'llama3.2:latest')!;
const minilm = DEFAULT_MODELS.find((model) => model.name === 'all-minilm:latest')!;

async function send(path: string, body: string, key: string, method: 'POST' | 'DELETE' = 'POST', headers: Record<string, string> = {}) {
  const response = await request(`${gateway.url}${path}`, { method, body, headers: { authorization: `Bearer ${key}`, ...headers } });
  const text = await response.body.text();
  return { status: response.statusCode, text, json: () => JSON.parse(text) };
}

/** The models the fake was asked to run on `path` since `from` (as Go decoded the bodies). */
function modelsRun(path: string, from: number): unknown[] {
  return ollama.requests.slice(from).filter((record) => record.path === path).map((record) => record.body?.model ?? record.body?.name);
}

beforeAll(async () => {
  ollama = await startFakeOllama();
  ollama.setModels([...DEFAULT_MODELS, { ...llama, name: 'private-70b:latest', digest: 'b'.repeat(64) }, { ...minilm, name: 'secret-embed:latest', digest: 'c'.repeat(64) }]);
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-checked-'));
  const keysFile = join(directory, 'keys.json');
  limitedKey = lastLine(createKeyCommand({ keysFile, name: 'limited', models: ['llama3.2', 'all-minilm'] }));
  adminKey = lastLine(createKeyCommand({ keysFile, name: 'admin', scopes: ['admin'] }));
  gateway = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl, BRIDGE_KEYS_FILE: keysFile });
});
afterAll(async () => {
  await gateway?.close();
  await ollama?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('keys that differ only in case', () => {
  it.each([
    ['/api/chat', '{"model": "llama3.2", "MODEL": "private-70b", "stream": false, "messages": [{"role": "user", "content": "hi"}]}'],
    ['/api/generate', '{"model": "llama3.2", "Model": "private-70b", "stream": false, "prompt": "hi"}'],
    ['/api/show', '{"model": "llama3.2", "MODEL": "private-70b"}'],
    ['/api/embed', '{"model": "all-minilm", "MODEL": "secret-embed", "input": "hi"}'],
    ['/api/embeddings', '{"model": "all-minilm", "mOdEl": "secret-embed", "prompt": "hi"}'],
  ])('%s: refused with 400 in the Ollama dialect, naming the keys; nothing reaches Ollama', async (path, body) => {
    const before = ollama.requests.length;
    const answer = await send(path, body, limitedKey);
    expect(answer.status).toBe(400);
    expect(Object.keys(answer.json())).toEqual(['error']);
    expect(answer.json().error).toMatch(/keys "model" and "(MODEL|Model|mOdEl)" differ only in case/);
    expect(modelsRun(path, before)).toEqual([]);
  });

  it('a collision at any depth is refused, and the answer says where', async () => {
    const before = ollama.requests.length;
    const answer = await send('/api/chat', '{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"hi"},{"role":"user","ROLE":"system","content":"x"}]}', limitedKey);
    expect(answer.status).toBe(400);
    expect(answer.json().error).toContain('keys "messages.1.role" and "messages.1.ROLE"');
    expect(ollama.requests.length).toBe(before);
  });

  it('the Kelvin sign and the long s fold as Go folds them', async () => {
    const kelvin = await send('/api/chat', '{"model":"llama3.2","stream":false,"keep_alive":"5m","\u212Aeep_alive":0,"messages":[{"role":"user","content":"hi"}]}', limitedKey);
    expect(kelvin.status).toBe(400);
    const longS = await send('/api/pull', '{"model":"x","\u017Ftream":true,"stream":false}', adminKey);
    expect(longS.status).toBe(400);
  });

  it('management bodies are checked the same way', async () => {
    const before = ollama.requests.length;
    const copy = await send('/api/copy', '{"source":"llama3.2","SOURCE":"private-70b","destination":"mine"}', adminKey);
    expect(copy.status).toBe(400);
    expect(ollama.requests.length).toBe(before);
  });
});

describe('a key spelled in another case', () => {
  it('/api/show: a lone "Model" is read as Ollama reads it, so the key\'s access applies to it', async () => {
    const before = ollama.requests.length;
    const answer = await send('/api/show', '{"name":"llama3.2","Model":"private-70b"}', limitedKey);
    expect(answer.status).toBe(403);
    expect(answer.json()).toEqual({ error: "this API key may not use model 'private-70b'" });
    expect(modelsRun('/api/show', before)).toEqual([]);
  });

  it('/api/chat: "MODEL" alone names the model, as in Ollama, and is what goes upstream', async () => {
    const before = ollama.requests.length;
    const answer = await send('/api/chat', '{"MODEL":"llama3.2","Stream":false,"messages":[{"role":"user","content":"hi"}]}', limitedKey);
    expect(answer.status).toBe(200);
    expect(answer.json().model).toBe('llama3.2');
    const forwarded = ollama.requests.slice(before).find((record) => record.path === '/api/chat')!;
    expect(JSON.parse(forwarded.rawBody.toString('utf8'))).toEqual({ model: 'llama3.2', stream: false, messages: [{ role: 'user', content: 'hi' }] });
  });
});

describe('what goes upstream', () => {
  it('is the parsed body serialised again (as JSON), not the client\'s bytes', async () => {
    const before = ollama.requests.length;
    const body = '  {"model" : "llama3.2",\n "stream": false, "messages": [{"role": "user", "content": "\\u0068i \\ud83d\\ude00"}], "options": {"Temperature": 1, "temperature": 0.5}}\n';
    // curl -d sends form encoding; Ollama reads JSON whatever the type.
    const answer = await send('/api/chat', body, limitedKey, 'POST', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(answer.status).toBe(400); // colliding keys are refused at any depth, options included
    expect(ollama.requests.length).toBe(before);
    const clean = body.replace('"Temperature": 1, ', '');
    const accepted = await send('/api/chat', clean, limitedKey, 'POST', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(accepted.status).toBe(200);
    const forwarded = ollama.requests.slice(before).find((record) => record.path === '/api/chat')!;
    expect(forwarded.rawBody.toString('utf8')).toBe(JSON.stringify(JSON.parse(clean)));
    expect(forwarded.headers['content-type']).toBe('application/json');
  });

  it('goes to the route the gateway matched, without the query string', async () => {
    const before = ollama.requests.length;
    const answer = await send('/api/show?model=private-70b', '{"model":"llama3.2"}', limitedKey);
    expect(answer.status).toBe(200);
    expect(ollama.requests.slice(before).map((record) => record.path)).toEqual(['/api/show']);
  });

  it('the answer still comes back byte for byte', async () => {
    ollama.script('llama3.2:latest', { ndjson: '{"model":"llama3.2","created_at":"2026-01-05T10:00:00.1Z","message":{"role":"assistant","content":"\\u003cb\\u003e"},"done":false}\n{"model":"llama3.2","created_at":"2026-01-05T10:00:00.2Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n' });
    try {
      const answer = await send('/api/chat', '{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}', limitedKey);
      expect(answer.text).toBe('{"model":"llama3.2","created_at":"2026-01-05T10:00:00.1Z","message":{"role":"assistant","content":"\\u003cb\\u003e"},"done":false}\n{"model":"llama3.2","created_at":"2026-01-05T10:00:00.2Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n');
    } finally {
      ollama.clearScripts();
    }
  });
});
