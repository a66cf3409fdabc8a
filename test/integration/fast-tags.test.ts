/**
 * `GET /api/tags` answered in front of Fastify (src/frontends/ollama/fast-tags.ts): the same
 * bytes, log line and metrics as the route through Fastify (`/api/tags?` with a query string
 * goes there), the same body per key, every refusal still Fastify's; and a hook it does not
 * know, added to the app, turns it off so the hook runs on /api/tags too.
 */
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { loadConfig } from '../../src/config.js';
import { tagsAnsweredInFront, unknownHooksProblem } from '../../src/frontends/ollama/fast-tags.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let directory: string;
beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-fast-tags-'));
});
afterAll(async () => {
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** The whole answer to one request on its own connection, as bytes: status line, headers, body. */
async function rawAnswer(url: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<string> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const lines = Object.entries({ host: `127.0.0.1:${port}`, ...headers, connection: 'close' }).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.write(`${method} ${path} HTTP/1.1\r\n${lines}\r\n`);
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

/** The answer without its Date header (the one part that differs from one second to the next). */
function withoutDate(answer: string): string {
  return answer.replace(/\r\ndate: [^\r]*/i, '');
}

function logLines(output: string): Array<Record<string, unknown>> {
  return output.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('an open gateway', () => {
  let gateway: TestGateway;
  let output = '';
  beforeAll(async () => {
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    gateway = await startGateway(fake.baseUrl, { LOG_LEVEL: 'info' }, { logDestination: logs });
  });
  afterAll(async () => gateway?.close());

  it('runs exactly the hooks the answer in front knows, and serves GET /api/tags', async () => {
    expect(unknownHooksProblem(gateway.app)).toBeUndefined();
    const before = tagsAnsweredInFront(gateway.app.server)!;
    const answer = await rawAnswer(gateway.url, '/api/tags');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(before + 1);
  });

  it('the same status, headers and body as the route through Fastify', async () => {
    const before = tagsAnsweredInFront(gateway.app.server)!;
    const inFront = await rawAnswer(gateway.url, '/api/tags');
    const throughFastify = await rawAnswer(gateway.url, '/api/tags?');
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(before + 1);
    expect(withoutDate(inFront)).toBe(withoutDate(throughFastify));
    expect(JSON.parse(inFront.slice(inFront.indexOf('\r\n\r\n') + 4)).models.length).toBeGreaterThan(0);
  });

  it('the same log line as through Fastify, each with its own request id', async () => {
    output = '';
    await rawAnswer(gateway.url, '/api/tags');
    await rawAnswer(gateway.url, '/api/tags?');
    // Each line is written as its response closes: wait for both.
    const completed = (): Array<Record<string, unknown>> => logLines(output).filter((line) => line.msg === 'request completed');
    for (let waited = 0; completed().length < 2 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const [inFront, throughFastify] = completed();
    expect(inFront).toBeDefined();
    expect(throughFastify).toBeDefined();
    const comparable = (line: Record<string, unknown>): Record<string, unknown> => ({ ...line, time: 0, durationMs: 0, reqId: 'req', url: '/api/tags' });
    expect(comparable(inFront!)).toEqual(comparable(throughFastify!));
    expect(Object.keys(inFront!)).toEqual(Object.keys(throughFastify!));
    expect(inFront!.reqId).toMatch(/^req-[0-9a-z]+$/);
    expect(inFront!.reqId).not.toBe(throughFastify!.reqId);
  });

  it('each answer counted in /metrics under the route, as through Fastify', async () => {
    const count = async (): Promise<number> => {
      const text = await (await request(`${gateway.url}/metrics`)).body.text();
      const line = text.split('\n').find((row) => row.startsWith('ollama_bridge_requests_total{') && row.includes('route="/api/tags"') && row.includes('status="200"'));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = await count();
    const answeredBefore = tagsAnsweredInFront(gateway.app.server)!;
    for (let index = 0; index < 3; index++) await rawAnswer(gateway.url, '/api/tags');
    await rawAnswer(gateway.url, '/api/tags?');
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(answeredBefore + 3);
    expect(await count()).toBe(before + 4);
  });

  it('leaves to Fastify a request with an Origin (CORS), a HEAD, a wrong Host', async () => {
    const before = tagsAnsweredInFront(gateway.app.server)!;
    const withOrigin = await rawAnswer(gateway.url, '/api/tags', { origin: 'http://localhost:3000' });
    expect(withOrigin).toMatch(/\r\naccess-control-allow-origin: http:\/\/localhost:3000\r\n/i);
    const refusedOrigin = await rawAnswer(gateway.url, '/api/tags', { origin: 'https://evil.example' });
    expect(refusedOrigin).toMatch(/^HTTP\/1\.1 403 /);
    const wrongHost = await rawAnswer(gateway.url, '/api/tags', { host: 'evil.example' });
    expect(wrongHost).toMatch(/^HTTP\/1\.1 403 /);
    expect(wrongHost).toContain('DNS rebinding');
    const head = await rawAnswer(gateway.url, '/api/tags', {}, 'HEAD');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head.endsWith('\r\n\r\n')).toBe(true);
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(before);
  });
});

describe('a gateway with keys', () => {
  let gateway: TestGateway;
  let everyModel: string;
  let oneModel: string;
  beforeAll(async () => {
    const keysFile = join(directory, 'keys.json');
    everyModel = createKeyCommand({ keysFile, name: 'every-model' }).trimEnd().split('\n').at(-1)!;
    oneModel = createKeyCommand({ keysFile, name: 'one-model', models: ['openai/gpt-4o'] }).trimEnd().split('\n').at(-1)!;
    gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
  });
  afterAll(async () => gateway?.close());

  it("each key's body, the same as through Fastify; a key limited to one model sees one", async () => {
    const before = tagsAnsweredInFront(gateway.app.server)!;
    for (const key of [everyModel, oneModel]) {
      const inFront = await rawAnswer(gateway.url, '/api/tags', { authorization: `Bearer ${key}` });
      const throughFastify = await rawAnswer(gateway.url, '/api/tags?', { authorization: `Bearer ${key}` });
      expect(inFront).toMatch(/^HTTP\/1\.1 200 /);
      expect(withoutDate(inFront)).toBe(withoutDate(throughFastify));
    }
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(before + 2);
    const limited = await rawAnswer(gateway.url, '/api/tags', { 'x-api-key': oneModel });
    const names = (JSON.parse(limited.slice(limited.indexOf('\r\n\r\n') + 4)) as { models: Array<{ name: string }> }).models.map((model) => model.name);
    expect(names).toEqual(['openai/gpt-4o:latest']);
  });

  it('no key, an unknown key, a key in the path: answered by Fastify (401 in the Ollama shape; the path key served)', async () => {
    const before = tagsAnsweredInFront(gateway.app.server)!;
    const none = await rawAnswer(gateway.url, '/api/tags');
    expect(none).toMatch(/^HTTP\/1\.1 401 /);
    expect(none).toContain('{"error":"an API key is required');
    const unknown = await rawAnswer(gateway.url, '/api/tags', { authorization: 'Bearer obk_nope' });
    expect(unknown).toMatch(/^HTTP\/1\.1 401 /);
    expect(unknown).toContain('{"error":"invalid API key"}');
    const inPath = await rawAnswer(gateway.url, `/key/${everyModel}/api/tags`);
    expect(inPath).toMatch(/^HTTP\/1\.1 200 /);
    expect(tagsAnsweredInFront(gateway.app.server)).toBe(before);
  });
});

describe('every configuration, every way of asking: in front and through Fastify answer alike', () => {
  // Rate limits and budgets apply to routes that spend: /api/tags answers all the same.
  const configurations: Array<[string, Record<string, unknown>]> = [
    ['open', {}],
    ['open, rate-limited by address and with a default budget', { RATE_LIMIT_RPM: 2, BUDGET_USD: 0.000001 }],
    ['keys, rate-limited', { BRIDGE_API_KEYS: 'key-one-0123456789abcdef,key-two-0123456789abcdef', RATE_LIMIT_RPM: 2 }],
    ['bound to every address (no Host check)', { HOST: '0.0.0.0', BRIDGE_API_KEYS: 'key-one-0123456789abcdef' }],
  ];
  const askings: Array<[string, Record<string, string>]> = [
    ['nothing', {}],
    ['a Bearer key', { authorization: 'Bearer key-one-0123456789abcdef' }],
    ['X-API-Key', { 'x-api-key': 'key-two-0123456789abcdef' }],
    ['Basic', { authorization: `Basic ${Buffer.from('user:key-one-0123456789abcdef').toString('base64')}` }],
    ['an unknown key', { authorization: 'Bearer key-zzz-0123456789abcdef' }],
    ['a foreign Host', { host: 'attacker.example' }],
    ['localhost as Host', { host: 'localhost:11434' }],
  ];
  for (const [name, overrides] of configurations) {
    it(name, async () => {
      const gateway = await startGateway(fake.baseUrl, overrides);
      try {
        const before = tagsAnsweredInFront(gateway.app.server)!;
        let okInFront = 0;
        for (const [asking, headers] of askings) {
          // Three times each: a rate limit, were it counted, would show by the third.
          for (let round = 0; round < 3; round++) {
            const inFront = await rawAnswer(gateway.url, '/api/tags', headers);
            const throughFastify = await rawAnswer(gateway.url, '/api/tags?', headers);
            expect(withoutDate(inFront), `${asking}, round ${round}`).toBe(withoutDate(throughFastify));
            if (inFront.startsWith('HTTP/1.1 200 ')) okInFront++;
          }
        }
        expect(okInFront).toBeGreaterThan(0);
        expect(tagsAnsweredInFront(gateway.app.server)).toBe(before + okInFront);
      } finally {
        await gateway.close();
      }
    });
  }
});

describe('a hook the answer in front does not know', () => {
  it('turns it off, says so, and the hook runs on /api/tags', async () => {
    const config = loadConfig({
      overrides: { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: fake.baseUrl, PORT: 0, LOG_LEVEL: 'warn', USAGE: false },
      envFile: false,
      readProcessEnv: false,
    });
    let output = '';
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const app = await buildApp({ config, logDestination: logs });
    app.addHook('onRequest', function auditTrail(_request, reply, done) {
      reply.header('x-audited', 'yes');
      done();
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      await app.catalog.start();
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
      expect(unknownHooksProblem(app)).toContain('auditTrail');
      expect(tagsAnsweredInFront(app.server)).toBeUndefined();
      const answer = await rawAnswer(url, '/api/tags');
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer).toMatch(/\r\nx-audited: yes\r\n/i);
      expect(logLines(output).some((line) => String(line.msg).startsWith("GET /api/tags goes through Fastify's pipeline") && String(line.msg).includes('auditTrail'))).toBe(true);
    } finally {
      await app.close();
    }
  });
});
