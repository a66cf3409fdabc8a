/**
 * The models filter and the models config follow their files while the gateway runs,
 * including editors that save by rename; bad lines are skipped, never fatal.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let directory: string;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-reload-'));
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});
afterAll(async () => {
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

async function tagNames(gateway: TestGateway): Promise<string[]> {
  const response = await request(`${gateway.url}/api/tags`);
  return ((await response.body.json()) as { models: Array<{ name: string }> }).models.map((model) => model.name).sort();
}

/** Polls until `check` passes or 3 s have gone by (the gateway polls files every 500 ms). */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('models filter file', () => {
  it('applies edits in place and saves by rename without a restart', async () => {
    const path = join(directory, 'filter-a.txt');
    writeFileSync(path, 'openai/gpt-4o\n');
    const gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: path });
    gateways.push(gateway);
    expect(await tagNames(gateway)).toEqual(['openai/gpt-4o:latest']);

    writeFileSync(path, 'openai/*\n# a comment\n');
    await eventually(async () => expect(await tagNames(gateway)).toEqual(['openai/gpt-4.1:latest', 'openai/gpt-4o:latest', 'openai/text-embedding-3-small:latest']));

    const temporary = join(directory, '.filter-a.txt.swp');
    writeFileSync(temporary, '*:free\n');
    renameSync(temporary, path);
    await eventually(async () => expect(await tagNames(gateway)).toEqual(['deepseek/deepseek-chat-v3:free']));

    const chat = await request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(chat.statusCode).toBe(404);
    await chat.body.text();
  });

  it('skips a line it cannot understand and applies the rest', async () => {
    const path = join(directory, 'filter-b.txt');
    writeFileSync(path, 'openai/gpt-4o\nnot a valid line\ngpt-4.1\n');
    const gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: path });
    gateways.push(gateway);
    expect(await tagNames(gateway)).toEqual(['openai/gpt-4.1:latest', 'openai/gpt-4o:latest']);
  });

  it('keeps the last filter while the file is missing', async () => {
    const path = join(directory, 'filter-c.txt');
    writeFileSync(path, 'openai/gpt-4o\n');
    const gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: path });
    gateways.push(gateway);
    rmSync(path);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await tagNames(gateway)).toEqual(['openai/gpt-4o:latest']);
    writeFileSync(path, 'openai/gpt-4.1\n');
    await eventually(async () => expect(await tagNames(gateway)).toEqual(['openai/gpt-4.1:latest']));
  });

  it('refuses to start with a filter file that does not exist', async () => {
    await expect(startGateway(fake.baseUrl, { MODELS_FILTER: join(directory, 'missing.txt') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('models config file', () => {
  it('serves aliases, applies overrides and follows edits', async () => {
    const path = join(directory, 'models.yaml');
    writeFileSync(path, 'aliases:\n  coder: openai/gpt-4.1\nmodels:\n  coder:\n    num_ctx: 4096\n    temperature: 0.1\n');
    const gateway = await startGateway(fake.baseUrl, { MODELS_CONFIG: path, MODELS_FILTER: undefined });
    gateways.push(gateway);
    expect(await tagNames(gateway)).toContain('coder:latest');

    const show = await request(`${gateway.url}/api/show`, { method: 'POST', body: JSON.stringify({ model: 'coder' }) });
    expect(((await show.body.json()) as any).model_info['gpt.context_length']).toBe(4096);

    const chat = await request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'coder', stream: false, options: { top_p: 0.5 }, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(((await chat.body.json()) as any).model).toBe('coder');
    expect(fake.chatRequests().at(-1)!.body).toMatchObject({ model: 'openai/gpt-4.1', temperature: 0.1, top_p: 0.5 });

    const request2 = await request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'coder', stream: false, options: { temperature: 0.9 }, messages: [{ role: 'user', content: 'hi' }] }) });
    await request2.body.text();
    expect(fake.chatRequests().at(-1)!.body.temperature).toBe(0.9);

    writeFileSync(path, 'aliases:\n  writer: anthropic/claude-sonnet-4.5\n');
    await eventually(async () => {
      const names = await tagNames(gateway);
      expect(names).toContain('writer:latest');
      expect(names).not.toContain('coder:latest');
    });

    writeFileSync(path, 'aliases: [this is not a mapping]\n');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await tagNames(gateway)).toContain('writer:latest');
  });
});
