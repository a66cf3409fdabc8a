/**
 * Secrets never reach a client or a log: upstreams that quote the gateway's OpenRouter key
 * (and client keys) in their error messages, on every path (status errors, 200-with-error,
 * an error event before the first byte and one mid-stream; /api and /v1; the relay and the
 * IR), and a log at `trace` through chats, streams, errors, a catalog fetch and URLs with
 * `?key=`. Over real HTTP against the fake OpenRouter and a provider that echoes the key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import {
  DEFAULT_MODELS,
  SSE_DONE,
  sseChunk,
  startFakeOpenRouter,
  textStream,
  toOpenRouterModel,
  type FakeOpenRouter,
} from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout } from '../helpers/cli-process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

/** Not key-shaped: only the registry of configured secrets can redact it. */
const GATEWAY_KEY = 'gateway-openrouter-secret-7f3a9c';
const CLIENT_KEY = 'plain-client-secret-42';
/** Key-shaped strings nobody configured: redacted by their shape. */
const SHAPED_OPENROUTER_KEY = `sk-or-v1-${'0a1b2c3d'.repeat(8)}`;
const SHAPED_CLIENT_KEY = `obk_abcd1234_${'Zq8'.repeat(11)}`;
const SECRETS = [GATEWAY_KEY, CLIENT_KEY, SHAPED_OPENROUTER_KEY, SHAPED_CLIENT_KEY];
const QUOTED = `Incorrect API key provided: ${GATEWAY_KEY} (also seen: ${CLIENT_KEY}, ${SHAPED_OPENROUTER_KEY}, ${SHAPED_CLIENT_KEY})`;

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) expect(text, `${where} holds ${secret}`).not.toContain(secret);
  // Also no telling fragment of a key (a cut or half-redacted one).
  expect(text, where).not.toContain(GATEWAY_KEY.slice(-12));
  expect(text, where).not.toContain(SHAPED_OPENROUTER_KEY.slice(-16));
}

/** What the client got still says what the upstream said, with the secrets replaced. */
function expectRedactedMessage(text: string, where: string): void {
  expectNoSecret(text, where);
  expect(text, `${where} carries the upstream's message`).toContain('Incorrect API key provided: [redacted]');
}

class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const auth = { authorization: `Bearer ${CLIENT_KEY}`, 'content-type': 'application/json' };

async function call(url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; text: string }> {
  const response = await request(url, { method, headers: auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: response.statusCode, text: await response.body.text() };
}

const user = [{ role: 'user', content: 'hello' }];
const errorEvent = (extra: Record<string, unknown> = {}): string =>
  `data: ${JSON.stringify({ id: 'gen-1', object: 'chat.completion.chunk', error: { code: 502, message: QUOTED, metadata: { raw: { detail: QUOTED } } }, ...extra })}\n\n`;

/** Models whose answers quote the keys, each in its own way. */
const LEAKY = {
  refused: 'leak/refused',
  status: 'leak/status',
  beforeStart: 'leak/before-start',
  midStream: 'leak/mid-stream',
  choiceError: 'leak/choice-error',
  okWithError: 'leak/ok-with-error',
} as const;

/**
 * A provider that quotes the bearer token it was sent in every error, the way real ones do.
 * `refuseModels`: its /models is refused too (the catalog fetch fails quoting the key).
 */
async function startEchoingProvider(refuseModels: boolean): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server: Server = createServer((incoming, response) => {
    const bearer = (incoming.headers.authorization ?? '').replace(/^Bearer /, '');
    const quoted = `Incorrect API key provided: ${bearer} (also seen: ${CLIENT_KEY}, ${SHAPED_OPENROUTER_KEY}, ${SHAPED_CLIENT_KEY})`;
    const send = (status: number, payload: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload));
    };
    let body = '';
    incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    incoming.on('end', () => {
      const path = incoming.url ?? '';
      if (path.includes('/models')) {
        if (refuseModels) return send(401, { error: { code: 401, message: quoted } });
        const embedding = DEFAULT_MODELS.find((model) => model.embedding)!;
        return send(200, { data: [embedding, DEFAULT_MODELS[0]!].map(toOpenRouterModel) });
      }
      if (path.endsWith('/embeddings') && body.includes('ok-with-error')) return send(200, { error: { code: 400, message: quoted } });
      return send(400, { error: { code: 400, message: quoted, metadata: { raw: quoted } } });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v1`,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

let fake: FakeOpenRouter;
let gateway: TestGateway;
const logs = new LogCapture();

beforeAll(async () => {
  fake = await startFakeOpenRouter({
    apiKey: GATEWAY_KEY,
    models: [...DEFAULT_MODELS, ...Object.values(LEAKY).map((id) => ({ id, context_length: 8192, created: 1700000000 }))],
  });
  fake.script(LEAKY.refused, { status: 401, body: { error: { code: 401, message: QUOTED } } });
  fake.script(LEAKY.status, { status: 400, body: { error: { code: 400, message: QUOTED, metadata: { raw: `{"detail":"${QUOTED}"}` } } } });
  fake.script(LEAKY.beforeStart, { sse: `: OPENROUTER PROCESSING\n\n${errorEvent()}` });
  fake.script(LEAKY.midStream, { sse: sseChunk({ role: 'assistant', content: 'partial ' }) + sseChunk({ role: 'assistant', content: 'answer' }) + errorEvent() });
  fake.script(LEAKY.choiceError, {
    sse: sseChunk({ role: 'assistant', content: 'partial ' }) +
      sseChunk({ content: '' }, 'error', { choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error', error: { code: 502, message: QUOTED } }] }) + SSE_DONE,
  });
  fake.script(LEAKY.okWithError, { body: { error: { code: 429, message: QUOTED } }, sse: textStream(['unused']) });
  gateway = await startGateway(fake.baseUrl, { OPENROUTER_API_KEY: GATEWAY_KEY, BRIDGE_API_KEYS: CLIENT_KEY, LOG_LEVEL: 'trace' }, { logDestination: logs });
});
afterAll(async () => {
  killAllClis();
  await gateway?.close();
  await fake?.close();
});

describe('an upstream error that quotes a key: the client gets the message without it (/api)', () => {
  it('/api/chat, the gateway key refused (401): 502 before the first byte', async () => {
    const answer = await call(`${gateway.url}/api/chat`, 'POST', { model: LEAKY.refused, messages: user });
    expect(answer.status).toBe(502);
    expectRedactedMessage(answer.text, 'the 401 answer');
  });

  it('/api/chat non-stream, an upstream 400 with metadata.raw: 400', async () => {
    const answer = await call(`${gateway.url}/api/chat`, 'POST', { model: LEAKY.status, messages: user, stream: false });
    expect(answer.status).toBe(400);
    expectRedactedMessage(answer.text, 'the 400 answer');
  });

  it('/api/chat, an error event before any content: a status', async () => {
    const answer = await call(`${gateway.url}/api/chat`, 'POST', { model: LEAKY.beforeStart, messages: user });
    expect(answer.status).toBe(502);
    expectRedactedMessage(answer.text, 'the early error');
  });

  it('/api/chat, an error event mid-stream: the in-band error line', async () => {
    const answer = await call(`${gateway.url}/api/chat`, 'POST', { model: LEAKY.midStream, messages: user });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('partial ');
    const last = JSON.parse(answer.text.trim().split('\n').at(-1)!);
    expect(last.error).toEqual(expect.any(String));
    expectRedactedMessage(answer.text, 'the NDJSON error line');
  });

  it('/api/generate, a choice that fails mid-stream: the in-band error line', async () => {
    const answer = await call(`${gateway.url}/api/generate`, 'POST', { model: LEAKY.choiceError, prompt: 'hello' });
    expect(answer.status).toBe(200);
    expectRedactedMessage(answer.text, 'the NDJSON error line');
  });
});

describe('an upstream error that quotes a key: the client gets the message without it (/v1)', () => {
  it('/v1/chat/completions stream (relay), the gateway key refused: 502 in the OpenAI dialect', async () => {
    const answer = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.refused, messages: user, stream: true });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.text).error.message).toEqual(expect.any(String));
    expectRedactedMessage(answer.text, 'the 401 answer');
  });

  it('/v1/chat/completions stream (relay), an error event before any content: a status', async () => {
    const answer = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.beforeStart, messages: user, stream: true });
    expect(answer.status).toBe(502);
    expectRedactedMessage(answer.text, 'the early error');
  });

  it('/v1/chat/completions stream (relay), an error event mid-stream: the in-band error event', async () => {
    const answer = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.midStream, messages: user, stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('partial ');
    expect(answer.text).toMatch(/data: \{"error":/);
    expectRedactedMessage(answer.text, 'the SSE error event');
  });

  it('/v1/chat/completions non-stream (relay): an upstream 400, and a 200 that carries an error', async () => {
    const status = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.status, messages: user });
    expect(status.status).toBe(400);
    expectRedactedMessage(status.text, 'the 400 answer');
    const okWithError = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.okWithError, messages: user });
    expect(okWithError.status).toBe(429);
    expectRedactedMessage(okWithError.text, 'the 200-with-error answer');
  });

  it('/v1/completions stream (the IR path), an error event mid-stream: the in-band error event', async () => {
    const answer = await call(`${gateway.url}/v1/completions`, 'POST', { model: LEAKY.midStream, prompt: 'hello', stream: true });
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/data: \{"error":/);
    expectRedactedMessage(answer.text, 'the SSE error event');
  });
});

describe('embeddings and the catalog, from a provider that echoes the key it was sent', () => {
  let echoing: Awaited<ReturnType<typeof startEchoingProvider>>;
  let refusing: Awaited<ReturnType<typeof startEchoingProvider>>;
  let embedGateway: TestGateway;
  let catalogGateway: TestGateway;
  const echoLogs = new LogCapture();

  beforeAll(async () => {
    echoing = await startEchoingProvider(false);
    refusing = await startEchoingProvider(true);
    embedGateway = await startGateway(echoing.baseUrl, { OPENROUTER_API_KEY: GATEWAY_KEY, BRIDGE_API_KEYS: CLIENT_KEY, LOG_LEVEL: 'trace' }, { logDestination: echoLogs });
    catalogGateway = await startGateway(refusing.baseUrl, { OPENROUTER_API_KEY: GATEWAY_KEY, BRIDGE_API_KEYS: CLIENT_KEY, LOG_LEVEL: 'trace' }, { logDestination: echoLogs });
  });
  afterAll(async () => {
    await embedGateway?.close();
    await catalogGateway?.close();
    await echoing?.close();
    await refusing?.close();
  });

  it('/v1/embeddings and /api/embed: an upstream 400, and a 200 that carries an error, come back without the key', async () => {
    const model = DEFAULT_MODELS.find((candidate) => candidate.embedding)!.id;
    const openAi = await call(`${embedGateway.url}/v1/embeddings`, 'POST', { model, input: 'hello' });
    expect(openAi.status).toBe(400);
    expect(JSON.parse(openAi.text).error.message).toEqual(expect.any(String));
    expectRedactedMessage(openAi.text, '/v1/embeddings');
    const ollama = await call(`${embedGateway.url}/api/embed`, 'POST', { model, input: 'hello' });
    expect(ollama.status).toBe(400);
    expectRedactedMessage(ollama.text, '/api/embed');
    const okWithError = await call(`${embedGateway.url}/v1/embeddings`, 'POST', { model, input: 'ok-with-error' });
    expect(okWithError.status).toBe(400);
    expectRedactedMessage(okWithError.text, 'the 200-with-error answer');
  });

  it('a refused catalog fetch: 503 with the reason, without the key', async () => {
    for (const path of ['/api/tags', '/v1/models']) {
      const answer = await call(`${catalogGateway.url}${path}`, 'GET');
      expect(answer.status, path).toBe(503);
      expectRedactedMessage(answer.text, path);
    }
  });

  it('the log of both gateways holds none of the keys', () => {
    expect(echoLogs.text).toContain('/v1/embeddings');
    expect(echoLogs.text).toContain('[redacted]');
    expectNoSecret(echoLogs.text, 'the log');
  });
});

describe('the log at trace level holds no secret', () => {
  it('after a chat, a stream, upstream errors, a catalog fetch and URLs with ?key=', async () => {
    const chat = await call(`${gateway.url}/api/chat`, 'POST', { model: 'openai/gpt-4o', messages: user, stream: false });
    expect(chat.status).toBe(200);
    const stream = await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: 'openai/gpt-4o', messages: user, stream: true });
    expect(stream.text).toContain('data: [DONE]');
    await gateway.app.catalog.refresh();
    const queryKeys = [
      `/api/tags?key=${SHAPED_CLIENT_KEY}`,
      `/api/tags?API_KEY=query-secret-one&x=1`,
      `/v1/models?foo=bar&Token=query-secret-two`,
      `/api/version?access_token=query-secret-three`,
      `/api/ps?apikey=query-secret-four`,
    ];
    for (const path of queryKeys) expect((await call(`${gateway.url}${path}`, 'GET')).status, path).toBeLessThan(500);
    await call(`${gateway.url}/api/chat`, 'POST', { model: LEAKY.refused, messages: user });
    await call(`${gateway.url}/v1/chat/completions`, 'POST', { model: LEAKY.midStream, messages: user, stream: true });

    const text = logs.text;
    // The log recorded these requests and errors, so the checks below are not vacuous.
    expect(text).toContain('"url":"/api/tags?key=[redacted]"');
    expect(text).toContain('"url":"/v1/models?foo=bar&Token=[redacted]"');
    expect(text).toContain('refused the gateway');
    expectNoSecret(text, 'the log');
    expect(text).not.toMatch(/query-secret/);
  });
});

describe('the command line at --log-level trace', () => {
  it('stdout and stderr hold no secret after a chat, a stream, upstream errors, a catalog fetch and a ?key= URL', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-trace-'));
    try {
      const keyFile = join(scratch, 'openrouter.key');
      writeFileSync(keyFile, `${GATEWAY_KEY}\n`);
      const envFile = join(scratch, 'empty.env');
      writeFileSync(envFile, '');
      const cli = spawnCli(['--dotenv', envFile, '--api-key-file', keyFile, '--openrouter-url', fake.baseUrl, '--port', '0', '--log-level', 'trace', '--log-format', 'json'], {
        env: { BRIDGE_API_KEYS: CLIENT_KEY },
      });
      const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
      expect((await call(`${url}/api/chat`, 'POST', { model: 'openai/gpt-4o', messages: user })).status).toBe(200);
      expect((await call(`${url}/v1/chat/completions`, 'POST', { model: 'openai/gpt-4o', messages: user, stream: true })).status).toBe(200);
      expect((await call(`${url}/api/chat`, 'POST', { model: LEAKY.refused, messages: user })).status).toBe(502);
      expect((await call(`${url}/v1/chat/completions`, 'POST', { model: LEAKY.midStream, messages: user, stream: true })).text).toContain('[redacted]');
      expect((await call(`${url}/api/tags?key=${SHAPED_CLIENT_KEY}`, 'GET')).status).toBe(200);
      cli.child.kill('SIGTERM');
      expect((await withTimeout(cli.exit, 10_000, 'exit')).code).toBe(0);
      const output = cli.stdout() + cli.stderr();
      expect(output).toContain('/api/tags?key=[redacted]');
      expect(output).toContain('refused the gateway');
      expectNoSecret(output, 'the output');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 30_000);
});
