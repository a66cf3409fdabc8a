/**
 * Configuration mistakes over the real gateway, with hot reload: a filter entry that matches
 * no model, an override for a model that does not exist and an unknown option name are each
 * logged as a warning naming the file and the line, with a "did you mean"; once per reload,
 * not once per catalog refresh or per request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { DEFAULT_MODELS, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

interface LogLine { level: number; msg: string; path?: string; line?: number }

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;
let filterPath: string;
let configPath: string;
const lines: LogLine[] = [];
/** Waiters for a log line, resolved as soon as one arrives that they match. */
const waiters: Array<{ matches: (line: LogLine) => boolean; resolve: () => void }> = [];

/** Resolves when a log line matching `matches` has arrived after `from` lines (a positive signal, no sleeping). */
function logged(matches: (line: LogLine) => boolean, from = 0): Promise<void> {
  if (lines.slice(from).some(matches)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no such log line within 5 s')), 5000);
    waiters.push({ matches, resolve: () => (clearTimeout(timer), resolve()) });
  });
}

const warnings = (from = 0): string[] => lines.slice(from).filter((line) => line.level === 40).map((line) => line.msg);

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-config-warnings-'));
  filterPath = join(directory, 'filter.txt');
  configPath = join(directory, 'models.yaml');
  writeFileSync(filterPath, '# what we serve\nopenai/gpt-4o\nopnai/gpt-4.1\n');
  writeFileSync(configPath, 'models:\n  gtp-4o:\n    temperature: 0.1\n  openai/gpt-4o:\n    temprature: 0.2\n');
  const destination = new PassThrough();
  let pending = '';
  destination.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop()!;
    for (const text of complete) {
      if (text === '') continue;
      const line = JSON.parse(text) as LogLine;
      lines.push(line);
      for (const waiter of waiters.splice(0)) {
        if (waiter.matches(line)) waiter.resolve();
        else waiters.push(waiter);
      }
    }
  });
  gateway = await startGateway(fake.baseUrl, { MODELS_FILTER: filterPath, MODELS_CONFIG: configPath, LOG_LEVEL: 'info' }, { logDestination: destination });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

const filterTypo = (): string => `models filter ${filterPath} line 3: "opnai/gpt-4.1" matches no model; did you mean openai/gpt-4.1?`;

describe('configuration mistakes', () => {
  it('are warned about at start-up, naming the file and the line, with a did-you-mean', async () => {
    await logged((line) => line.msg.includes('models.gtp-4o'));
    expect(warnings().sort()).toEqual([
      filterTypo(),
      `models config ${configPath} line 2 (models.gtp-4o): names no model and no alias, so it applies to nothing; did you mean gpt-4o?`,
      `models config ${configPath} line 5 (models.openai/gpt-4o.temprature): unknown option "temprature"; ignored; did you mean temperature?`,
    ].sort());
    expect(lines.find((line) => line.msg.startsWith('models filter'))).toMatchObject({ level: 40, path: filterPath, line: 3 });
  });

  it('are not said again by catalog refreshes or requests', async () => {
    const before = lines.length;
    for (let round = 0; round < 3; round++) {
      await gateway.app.catalog.refresh();
      const response = await request(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(response.statusCode).toBe(200);
      await response.body.text();
    }
    expect(warnings(before)).toEqual([]);
  });

  it('are said again after each reload that still has them, and not once fixed', async () => {
    // Saved again with the mistake still in (a comment changed): said again, once.
    let from = lines.length;
    writeFileSync(filterPath, '# what we serve, edited\nopenai/gpt-4o\nopnai/gpt-4.1\n');
    await logged((line) => line.msg === 'models filter reloaded', from);
    expect(warnings(from)).toEqual([filterTypo()]);

    // Fixed: the reload says nothing more, and the model is served.
    from = lines.length;
    writeFileSync(filterPath, '# what we serve, edited\nopenai/gpt-4o\nopenai/gpt-4.1\n');
    await logged((line) => line.msg === 'models filter reloaded', from);
    expect(warnings(from)).toEqual([]);
    const tags = await (await request(`${gateway.url}/api/tags`)).body.json() as { models: Array<{ name: string }> };
    expect(tags.models.map((model) => model.name).sort()).toEqual(['openai/gpt-4.1:latest', 'openai/gpt-4o:latest']);

    // A filter that serves nothing is a warning.
    from = lines.length;
    writeFileSync(filterPath, 'opnai/*\n');
    await logged((line) => line.msg === 'models filter reloaded', from);
    expect(warnings(from)).toEqual([
      `models filter ${filterPath} line 1: "opnai/*" matches no model; did you mean openai/*?`,
      `models filter ${filterPath} serves no model: none of the ${DEFAULT_MODELS.length} models the backends list passes it`,
    ]);

    // The models config fixed: only the reload line.
    from = lines.length;
    writeFileSync(configPath, 'models:\n  gpt-4o:\n    temperature: 0.1\n');
    await logged((line) => line.msg === 'models config reloaded', from);
    expect(warnings(from)).toEqual([]);
  });
});
