/**
 * A wrong upstream URL (`--openrouter-url http://host:port` without `/api/v1`) is reported as
 * a configuration error: the 503 names the URL tried and the setting to check, does not say
 * "try again shortly", and the log says it once, at error level.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway } from '../helpers/gateway.js';

let wrong: Server;
let wrongUrl: string;
let fake: FakeOpenRouter;

/** Answers every path the way a web server that is not OpenRouter's API does. */
beforeAll(async () => {
  wrong = createServer((request, response) => {
    if (request.url?.startsWith('/html')) {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html><body>Welcome</body></html>');
    } else if (request.url?.startsWith('/json')) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    }
  });
  await new Promise<void>((resolve) => wrong.listen(0, '127.0.0.1', resolve));
  wrongUrl = `http://127.0.0.1:${(wrong.address() as AddressInfo).port}`;
  fake = await startFakeOpenRouter();
});
afterAll(async () => {
  await new Promise((resolve) => wrong.close(resolve));
  await fake?.close();
});

interface LogLine { level: number; msg: string; err?: { message: string; code: string } }

async function startWith(openRouterUrl: string, overrides: Record<string, unknown> = {}) {
  let text = '';
  const logs = new PassThrough();
  logs.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const gateway = await startGateway(openRouterUrl, { LOG_LEVEL: 'info', ...overrides }, { logDestination: logs });
  const lines = (): LogLine[] => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogLine);
  return { gateway, lines, logText: () => text };
}

async function get(url: string) {
  const response = await request(url);
  return { status: response.statusCode, body: (await response.body.json()) as any };
}

describe('a wrong --openrouter-url', () => {
  it('answers 503 naming the URL tried and the setting, and logs it once as an error', async () => {
    const { gateway, lines, logText } = await startWith(wrongUrl);
    try {
      const expected = `OpenRouter's model list at ${wrongUrl}/models answered HTTP 404 (Not Found): this looks like a configuration error; check --openrouter-url (OPENROUTER_BASE_URL), which must be the API's base URL (such as https://openrouter.ai/api/v1)`;
      for (let attempt = 0; attempt < 3; attempt++) {
        const tags = await get(`${gateway.url}/api/tags`);
        expect(tags.status).toBe(503);
        expect(tags.body).toEqual({ error: `the model catalog is not available yet (${expected})` });
      }
      const models = await get(`${gateway.url}/v1/models`);
      expect(models.status).toBe(503);
      expect(models.body.error.message).toBe(`the model catalog is not available yet (${expected})`);
      expect(gateway.app.catalog.backendStates()).toEqual([expect.objectContaining({ name: 'openrouter', state: 'failing', lastError: expected })]);

      // Retries (1 s, then doubling) log at debug: the error line stays the only one.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await get(`${gateway.url}/api/tags`)).status).toBe(503);
      // (Each 503 answer has its own request log line; these are the catalog's.)
      const errors = lines().filter((line) => line.level >= 40 && /^could not (fetch|refresh)|still failing/.test(line.msg));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ msg: "could not fetch openrouter's model list; retrying with backoff", err: { message: expected, code: 'CONFIG_INVALID' } });
      expect(logText()).not.toContain(FAKE_API_KEY);
    } finally {
      await gateway.close();
    }
  });

  it.each([
    ['/html', 'answered with something that is not JSON'],
    ['/json', 'answered JSON without a "data" list of models'],
  ])('says the same of a base URL whose /models answers %s', async (path, what) => {
    const { gateway } = await startWith(`${wrongUrl}${path}`);
    try {
      const tags = await get(`${gateway.url}/api/tags`);
      expect(tags.status).toBe(503);
      expect(tags.body.error).toBe(`the model catalog is not available yet (OpenRouter's model list at ${wrongUrl}${path}/models ${what}: this looks like a configuration error; check --openrouter-url (OPENROUTER_BASE_URL), which must be the API's base URL (such as https://openrouter.ai/api/v1))`);
    } finally {
      await gateway.close();
    }
  });

  it('keeps "try again shortly" for an outage (an upstream 503)', async () => {
    fake.failModels(503);
    const { gateway } = await startWith(fake.baseUrl);
    try {
      const tags = await get(`${gateway.url}/api/tags`);
      expect(tags.status).toBe(503);
      expect(tags.body.error).toMatch(/try again shortly$/);
      expect(tags.body.error).not.toContain('configuration');
    } finally {
      fake.failModels(undefined);
      await gateway.close();
    }
  });
});

describe('a wrong --ollama-url next to a healthy OpenRouter', () => {
  it('serves OpenRouter and reports the Ollama URL as a configuration error', async () => {
    const { gateway, lines } = await startWith(fake.baseUrl, { OLLAMA_BASE_URL: `${wrongUrl}/v1` });
    try {
      expect((await get(`${gateway.url}/api/tags`)).status).toBe(200);
      const ollama = gateway.app.catalog.backendStates().find((backend) => backend.name === 'ollama');
      expect(ollama).toMatchObject({
        state: 'failing',
        lastError: `Ollama's model list at ${wrongUrl}/v1/api/tags answered HTTP 404 (Not Found): this looks like a configuration error; check --ollama-url (OLLAMA_BASE_URL), which must be the API's base URL (such as http://127.0.0.1:11435)`,
      });
      expect(lines().filter((line) => line.level >= 50).map((line) => line.msg)).toEqual([
        "could not fetch ollama's model list; the other backends are served meanwhile; retrying with backoff",
      ]);
    } finally {
      await gateway.close();
    }
  });
});
