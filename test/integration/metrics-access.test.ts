/**
 * Who may read /metrics: anyone on a gateway without keys; with keys, a key with the admin
 * scope (Prometheus sends it as a bearer token): 401 without a key, 403 with another key;
 * `--metrics-public` (METRICS_PUBLIC) opens it and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { scrape } from '../helpers/metrics.js';

let fake: FakeOpenRouter;
let directory: string;
let keysFile: string;
let userKey: string;
let adminKey: string;
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-metrics-'));
  keysFile = join(directory, 'keys.json');
  userKey = lastLine(createKeyCommand({ keysFile, name: 'alice' }));
  adminKey = lastLine(createKeyCommand({ keysFile, name: 'prometheus', scopes: ['admin'] }));
});
afterAll(async () => {
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function get(url: string, key?: string): Promise<{ status: number; text: string }> {
  const response = await request(url, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  return { status: response.statusCode, text: await response.body.text() };
}

describe('/metrics with client keys', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
  });
  afterAll(async () => gateway?.close());

  it('is 401 without a key, in the Ollama dialect', async () => {
    const answer = await get(`${gateway.url}/metrics`);
    expect(answer.status).toBe(401);
    expect(Object.keys(JSON.parse(answer.text))).toEqual(['error']);
  });

  it('is 403 for a key without the admin scope', async () => {
    const answer = await get(`${gateway.url}/metrics`, userKey);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text).error).toContain('admin scope');
  });

  it('is 200 for an admin key sent as a bearer token, with no key in it', async () => {
    expect((await get(`${gateway.url}/api/tags`, userKey)).status).toBe(200);
    const scraped = await scrape(gateway.url, { authorization: `Bearer ${adminKey}` });
    expect(scraped.value('ollama_bridge_requests_total', { route: '/metrics', status: '401', model: '' })).toBe(1);
    expect(scraped.value('ollama_bridge_requests_total', { route: '/metrics', status: '403', model: '' })).toBe(1);
    expect(scraped.value('ollama_bridge_requests_total', { route: '/api/tags', status: '200', model: '' })).toBe(1);
    expect(scraped.text).not.toContain(userKey);
    expect(scraped.text).not.toContain(adminKey);
  });
});

describe('/metrics with --metrics-public', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, METRICS_PUBLIC: true });
  });
  afterAll(async () => gateway?.close());

  it('is 200 without a key, with any key, and opens nothing else', async () => {
    expect((await get(`${gateway.url}/metrics`)).status).toBe(200);
    expect((await get(`${gateway.url}/metrics`, userKey)).status).toBe(200);
    expect((await get(`${gateway.url}/api/tags`)).status).toBe(401);
    expect((await get(`${gateway.url}/v1/models`)).status).toBe(401);
  });
});

describe('/metrics on a gateway without keys', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startGateway(fake.baseUrl);
  });
  afterAll(async () => gateway?.close());

  it('is open, as every route is', async () => {
    await scrape(gateway.url);
  });
});
