/**
 * The models filter and the models config follow their files while the gateway runs,
 * including editors that save by rename; bad lines are skipped, never fatal. A file is used
 * only once it is whole: never empty for a moment, never half-written.
 */
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { FILE_POLL_INTERVAL_MS, watchFileSetting, type FileWatcher, type WatchOptions } from '../../src/files/watched-file.js';
import { createKeyCommand } from '../../src/auth/keys-command.js';
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

/** Captures a gateway's log lines. */
function logLines(): { destination: PassThrough; messages: () => string[] } {
  let text = '';
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { destination, messages: () => text.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { msg: string }).msg) };
}

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

  it('keeps the last filter while the file is missing, and says so', async () => {
    const path = join(directory, 'filter-c.txt');
    writeFileSync(path, 'openai/gpt-4o\n');
    const logs = logLines();
    const gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: path, LOG_LEVEL: 'info' }, { logDestination: logs.destination });
    gateways.push(gateway);
    rmSync(path);
    await eventually(async () => expect(logs.messages()).toContain('the models filter file is gone; keeping the last models filter until it comes back'));
    expect(await tagNames(gateway)).toEqual(['openai/gpt-4o:latest']);
    writeFileSync(path, 'openai/gpt-4.1\n');
    await eventually(async () => expect(await tagNames(gateway)).toEqual(['openai/gpt-4.1:latest']));
    expect(logs.messages().filter((message) => /models filter file is (gone|back)/.test(message))).toEqual([
      'the models filter file is gone; keeping the last models filter until it comes back',
      'the models filter file is back',
    ]);
  });

  it('never serves every model while an editor truncates the file and writes it 200 ms later', async () => {
    const path = join(directory, 'filter-d.txt');
    writeFileSync(path, 'openai/gpt-4o\n');
    const logs = logLines();
    const gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: path, LOG_LEVEL: 'debug' }, { logDestination: logs.destination });
    gateways.push(gateway);
    const count = (text: string): number => logs.messages().filter((message) => message === text).length;
    const emptySeen = 'the models filter file is empty; it is applied only if it stays empty for 500 ms';
    // Watch what clients see all along.
    const seen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        seen.add((await tagNames(gateway)).join(','));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    // The editor's pause as it comes, then twice once the gateway has surely seen the empty file.
    for (const [round, content] of ['openai/gpt-4.1\n', 'openai/gpt-4o\n', 'openai/gpt-4.1\n'].entries()) {
      const reloads = count('models filter reloaded');
      const emptyBefore = count(emptySeen);
      writeFileSync(path, '');
      if (round === 0) await new Promise((resolve) => setTimeout(resolve, 200));
      else await eventually(async () => expect(count(emptySeen)).toBe(emptyBefore + 1));
      writeFileSync(path, content);
      await eventually(async () => expect(count('models filter reloaded')).toBe(reloads + 1));
    }
    sampling = false;
    await sampler;
    expect([...seen].sort()).toEqual(['openai/gpt-4.1:latest', 'openai/gpt-4o:latest']);
    expect(logs.messages().some((message) => message.includes('now empty'))).toBe(false);
  });

  it('refuses to start with a filter file that does not exist', async () => {
    await expect(startGateway(fake.baseUrl, { MODELS_FILTER: join(directory, 'missing.txt') })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

describe('models config file', () => {
  it('serves aliases, applies overrides and follows edits; an edit it cannot use keeps the last config, and says so', async () => {
    const path = join(directory, 'models.yaml');
    writeFileSync(path, 'aliases:\n  coder: openai/gpt-4.1\nmodels:\n  coder:\n    num_ctx: 4096\n    temperature: 0.1\n');
    const logs = logLines();
    const gateway = await startGateway(fake.baseUrl, { MODELS_CONFIG: path, MODELS_FILTER: undefined, LOG_LEVEL: 'info' }, { logDestination: logs.destination });
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

    // The watcher's own word that it read the broken edit and kept the last config, then the check.
    writeFileSync(path, 'aliases: [this is not a mapping]\n');
    await eventually(async () => expect(logs.messages()).toContain('cannot use the changed models config; keeping the previous one'));
    expect(await tagNames(gateway)).toContain('writer:latest');
    // Still watching: the next good edit applies.
    writeFileSync(path, 'aliases:\n  editor: anthropic/claude-sonnet-4.5\n');
    await eventually(async () => {
      const names = await tagNames(gateway);
      expect(names).toContain('editor:latest');
      expect(names).not.toContain('writer:latest');
    });
  });
});

describe('keys file', () => {
  const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;

  async function tagsStatus(gateway: TestGateway, key: string): Promise<number> {
    const response = await request(`${gateway.url}/api/tags`, { headers: { 'x-api-key': key } });
    await response.body.text();
    return response.statusCode;
  }

  it('an edit it cannot use keeps the last keys and says so once; the next good edit applies', async () => {
    const path = join(directory, 'keys.json');
    const first = lastLine(createKeyCommand({ keysFile: path, name: 'first' }));
    const logs = logLines();
    const gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: path, LOG_LEVEL: 'info' }, { logDestination: logs.destination });
    gateways.push(gateway);
    expect(await tagsStatus(gateway, first)).toBe(200);

    const good = readFileSync(path, 'utf8');
    writeFileSync(path, '{"version": 2, "keys": [');
    const refused = 'cannot use the changed keys file; keeping the previous one';
    await eventually(async () => expect(logs.messages()).toContain(refused));
    expect(await tagsStatus(gateway, first)).toBe(200);

    writeFileSync(path, good);
    const second = lastLine(createKeyCommand({ keysFile: path, name: 'second' }));
    await eventually(async () => expect(await tagsStatus(gateway, second)).toBe(200));
    expect(await tagsStatus(gateway, first)).toBe(200);
    expect(logs.messages().filter((message) => message === refused)).toHaveLength(1);
  });
});

describe('a changed file is used only once it is whole', () => {
  const watchers: FileWatcher[] = [];
  afterEach(() => {
    for (const watcher of watchers.splice(0)) watcher.close();
  });

  /** Watches a file whose value is its text: every applied value and log line is kept. */
  function watchText(path: string, options: Partial<WatchOptions<string>> = {}) {
    const applied: string[] = [];
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const watcher = watchFileSetting({ path, label: 'test file', emptyMeaning: 'nothing is set', parse: (text) => text, apply: (value) => void applied.push(value), log, ...options });
    watchers.push(watcher);
    const reloaded = (count: number): Promise<void> => eventually(async () => expect(watcher.reloads).toBe(count));
    const logged = (text: string): Promise<void> => eventually(async () => expect(lines.map((line) => line.msg)).toContain(text));
    return { applied, lines, watcher, reloaded, logged };
  }

  it('never applies the empty file of a truncate-then-write, even once the watcher has seen it', async () => {
    const path = join(directory, 'truncate.txt');
    writeFileSync(path, 'a\n');
    const { applied, watcher, reloaded, logged } = watchText(path);
    writeFileSync(path, '');
    await logged('the test file file is empty; it is applied only if it stays empty for 500 ms');
    writeFileSync(path, 'b\n');
    await reloaded(1);
    writeFileSync(path, '');
    await new Promise((resolve) => setTimeout(resolve, 200));
    writeFileSync(path, 'c\n');
    await reloaded(2);
    expect(applied).toEqual(['a\n', 'b\n', 'c\n']);
    expect(watcher.reloads).toBe(2);
  });

  it('applies an empty file that stays empty for a full poll, with a warning', async () => {
    const path = join(directory, 'emptied.txt');
    writeFileSync(path, 'a\n');
    const { applied, lines, reloaded } = watchText(path);
    const emptiedAt = Date.now();
    writeFileSync(path, '');
    await reloaded(1);
    expect(Date.now() - emptiedAt).toBeGreaterThanOrEqual(FILE_POLL_INTERVAL_MS);
    expect(applied).toEqual(['a\n', '']);
    expect(lines.filter((line) => line.level === 40).map((line) => line.msg)).toEqual(['the test file file is now empty: nothing is set']);
  });

  it('never applies a file caught half-written', async () => {
    const path = join(directory, 'halves.txt');
    writeFileSync(path, 'start\n');
    // A poll every 10 ms cannot miss the moment the file is half-written.
    const { applied, reloaded } = watchText(path, { pollIntervalMs: 10 });
    const contents = ['openai/gpt-4o\nopenai/gpt-4.1\n', 'anthropic/*\n!anthropic/claude-opus-4\n', '*:free\n'];
    for (const [index, content] of contents.entries()) {
      const half = Math.ceil(content.length / 2);
      writeFileSync(path, content.slice(0, half));
      await new Promise((resolve) => setTimeout(resolve, 40));
      appendFileSync(path, content.slice(half));
      await reloaded(index + 1);
    }
    expect(applied).toEqual(['start\n', ...contents]);
  });

  it('keeps the last value while the file is gone, says so once, and says when it is back', async () => {
    const path = join(directory, 'removed.txt');
    writeFileSync(path, 'a\n');
    const { applied, lines, reloaded, logged } = watchText(path, { pollIntervalMs: 20 });
    rmSync(path);
    await logged('the test file file is gone; keeping the last test file until it comes back');
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten polls while it is gone
    writeFileSync(path, 'b\n');
    await reloaded(1);
    expect(applied).toEqual(['a\n', 'b\n']);
    expect(lines.filter((line) => line.level >= 30).map((line) => line.msg)).toEqual([
      'the test file file is gone; keeping the last test file until it comes back',
      'the test file file is back',
      'test file reloaded',
    ]);
  });

  it('keeps the last value when the changed file cannot be parsed, and says so once', async () => {
    const path = join(directory, 'unparsable.txt');
    writeFileSync(path, 'a\n');
    const { applied, lines, reloaded, logged } = watchText(path, {
      pollIntervalMs: 20,
      parse: (text) => {
        if (text.startsWith('!')) throw new Error('not a setting');
        return text;
      },
    });
    writeFileSync(path, '!bad\n');
    await logged('cannot use the changed test file; keeping the previous one');
    await new Promise((resolve) => setTimeout(resolve, 200));
    writeFileSync(path, 'b\n');
    await reloaded(1);
    expect(applied).toEqual(['a\n', 'b\n']);
    expect(lines.filter((line) => line.msg.startsWith('cannot use'))).toHaveLength(1);
  });
});
