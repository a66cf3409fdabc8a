/**
 * A model the models filter hides: the client gets Ollama's usual "not found" (embeddings:
 * "try pulling it first"), and the log says, once per name until the filter changes, that the
 * filter hides it and which line excluded it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;
let filterPath: string;
let logText = '';

interface LogLine { level: number; msg: string; model?: string; filterLine?: number }
const hiddenLines = (): LogLine[] =>
  logText.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogLine).filter((line) => line.msg.includes('models filter hides'));

async function post(path: string, body: unknown) {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.statusCode, body: await response.body.json() as any };
}

async function eventually(check: () => void | Promise<void>): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const messages = [{ role: 'user', content: 'hi' }];

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-hidden-'));
  filterPath = join(directory, 'filter.txt');
  writeFileSync(filterPath, '# no embeddings, no GPT-4o\n!openai/text-embedding-*\n!gpt-4o\n');
  const logs = new PassThrough();
  logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: filterPath, LOG_LEVEL: 'info' }, { logDestination: logs });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a model hidden by the models filter', () => {
  it("answers the client in Ollama's words and logs the excluding line once", async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      expect(await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false })).toEqual({ status: 404, body: { error: "model 'openai/gpt-4o' not found" } });
    }
    expect((await post('/api/show', { model: 'gpt-4o' })).body).toEqual({ error: "model 'gpt-4o:latest' not found" });
    expect(await post('/api/embed', { model: 'openai/text-embedding-3-small', input: 'x' })).toEqual({
      status: 404,
      body: { error: 'model "openai/text-embedding-3-small" not found, try pulling it first' },
    });
    const v1 = await post('/v1/chat/completions', { model: 'openai/gpt-4o', messages });
    expect(v1.status).toBe(404);
    expect(v1.body.error.message).toBe("model 'openai/gpt-4o' not found");

    expect(hiddenLines().map((line) => [line.level, line.msg])).toEqual([
      [30, "model 'openai/gpt-4o' was asked for but the models filter hides it: line 3 (!gpt-4o) excludes openai/gpt-4o"],
      [30, "model 'gpt-4o' was asked for but the models filter hides it: line 3 (!gpt-4o) excludes openai/gpt-4o"],
      [30, "model 'openai/text-embedding-3-small' was asked for but the models filter hides it: line 2 (!openai/text-embedding-*) excludes openai/text-embedding-3-small"],
    ]);
  });

  it('logs nothing for a model no backend has', async () => {
    const before = hiddenLines().length;
    expect((await post('/api/chat', { model: 'nobody/nothing', messages })).status).toBe(404);
    expect(hiddenLines().length).toBe(before);
  });

  it('says so again once the filter changes, and explains a model no line lists', async () => {
    const before = hiddenLines().length;
    writeFileSync(filterPath, 'anthropic/*\n');
    await eventually(async () => expect((await post('/api/show', { model: 'openai/gpt-4.1' })).status).toBe(404));
    expect((await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false })).status).toBe(404);
    expect((await post('/api/chat', { model: 'openai/gpt-4o', messages, stream: false })).status).toBe(404);
    expect(hiddenLines().slice(before).map((line) => line.msg)).toEqual([
      "model 'openai/gpt-4.1' was asked for but the models filter hides it: no line of it lists openai/gpt-4.1, and a filter with entries serves only what they list",
      "model 'openai/gpt-4o' was asked for but the models filter hides it: no line of it lists openai/gpt-4o, and a filter with entries serves only what they list",
    ]);
  });
});
