/**
 * `ollama-bridge usage` as a process, over a database holding a known set of requests: the
 * JSON object, CSV and the table with its totals; mistakes. Groupings and filters in detail:
 * test/unit/usage-command.test.ts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { request } from 'undici';
import { startFakeOpenRouter, textStream } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout } from '../helpers/cli-process.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

let scratch: ReturnType<typeof scratchDir>;
let dbPath: string;

const at = (iso: string): number => Date.parse(iso);

beforeAll(async () => {
  scratch = scratchDir();
  dbPath = join(scratch.dir, 'usage.db');
  const store = openSqliteUsageStore(dbPath);
  await store.append([
    usageRecord({ startedAt: at('2026-04-30T23:59:59Z'), costUsd: 100, promptTokens: 1000, completionTokens: 1000 }),
    usageRecord({ startedAt: at('2026-05-01T00:00:00Z'), costUsd: 0.1, promptTokens: 10, completionTokens: 20 }),
    usageRecord({ startedAt: at('2026-05-01T12:00:00Z'), costUsd: 0.2, promptTokens: 30, completionTokens: 40 }),
    usageRecord({ startedAt: at('2026-05-02T12:00:00Z'), costUsd: 0.3, promptTokens: 50, completionTokens: 60, modelServed: 'anthropic/claude-sonnet-4' }),
    usageRecord({ startedAt: at('2026-05-02T13:00:00Z'), costUsd: 0.4, promptTokens: 70, completionTokens: 80, keyId: 'key-2', keyName: 'ci, nightly' }),
    usageRecord({ startedAt: at('2026-05-03T13:00:00Z'), costUsd: 0, promptTokens: 5, completionTokens: 5, keyId: undefined, keyName: undefined, modelServed: 'llama3.2:latest', backend: 'ollama' }),
  ]);
  await store.close();
});
afterAll(() => {
  killAllClis();
  scratch.remove();
});

async function usage(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawnCli(['usage', '--usage-db', dbPath, ...args]);
  const { code } = await withTimeout(cli.exit, 15_000, 'usage exit');
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

const MAY = ['--since', '2026-05-01', '--until', '2026-05-31'];

describe('ollama-bridge usage', () => {
  it('--json: one object with the days, a row per key and model (as served) and the totals', async () => {
    const { code, stdout, stderr } = await usage(...MAY, '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const row = (key: string | null, model: string, requests: number, prompt: number, completion: number, cost: number) => ({
      key, model, requests, prompt_tokens: prompt, completion_tokens: completion, reasoning_tokens: 0, cached_tokens: 0, cost_usd: cost,
    });
    expect(JSON.parse(stdout)).toEqual({
      since: '2026-05-01',
      until: '2026-05-31',
      rows: [
        row(null, 'llama3.2:latest', 1, 5, 5, 0),
        row('ci, nightly', 'openai/gpt-4o-2024-08-06', 1, 70, 80, 0.4),
        row('laptop', 'anthropic/claude-sonnet-4', 1, 50, 60, 0.3),
        row('laptop', 'openai/gpt-4o-2024-08-06', 2, 40, 60, 0.3),
      ],
      total: { requests: 5, prompt_tokens: 165, completion_tokens: 205, reasoning_tokens: 0, cached_tokens: 0, cost_usd: 1 },
    });
  });

  it('--csv: a header and the same rows, fields quoted where they must be', async () => {
    const { code, stdout } = await usage(...MAY, '--by', 'key', '--csv');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'key,requests,prompt_tokens,completion_tokens,reasoning_tokens,cached_tokens,cost_usd',
      ',1,5,5,0,0,0',
      '"ci, nightly",1,70,80,0,0,0.4',
      'laptop,3,90,120,0,0,0.6',
    ]);
  });

  it('a table with a totals row by default', async () => {
    const { code, stdout } = await usage(...MAY, '--by', 'key');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Usage from 2026-05-01 to 2026-05-31 (UTC days), from ${dbPath}`);
    expect(lines.slice(2).map((line) => line.split(/\s{2,}/))).toEqual([
      ['KEY', 'REQUESTS', 'PROMPT TOKENS', 'COMPLETION TOKENS', 'COST (USD)'],
      ['(no key)', '1', '5', '5', '0.000000'],
      ['ci, nightly', '1', '70', '80', '0.400000'],
      ['laptop', '3', '90', '120', '0.600000'],
      ['TOTAL', '5', '165', '205', '1.000000'],
    ]);
  });

  it('mistakes: exit 2 with what to do, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--since', '2026-02-30'], /--since 2026-02-30 is not a day: use YYYY-MM-DD/],
      [['--json', '--csv'], /json and csv are mutually exclusive/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await usage(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    const cli = spawnCli(['usage', '--usage-db', join(scratch.dir, 'missing.db')]);
    expect((await withTimeout(cli.exit, 15_000, 'exit')).code).toBe(2);
    expect(cli.stderr()).toMatch(/no usage database at .*missing\.db: the gateway creates it on its first start/);
  });

  it('while a gateway process holds the database open, the report\'s totals are the requests made through it', async () => {
    const fake = await startFakeOpenRouter({ apiKey: 'sk-or-v1-usage-cli-0123456789' });
    // 7 prompt and 2 completion tokens and $0.000009 per answer, served as fake/model-20260101.
    fake.script('openai/gpt-4o', { sse: textStream(['Hello', ' there'], 'stop', [7, 2]) });
    const livePath = join(scratch.dir, 'live.db');
    const gateway = spawnCli(['serve', '--usage', '--usage-db', livePath, '--port', '0', '--log-level', 'info', '--openrouter-url', fake.baseUrl], {
      env: { OPENROUTER_API_KEY: 'sk-or-v1-usage-cli-0123456789' },
    });
    try {
      const url = (await waitForOutput(gateway, /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      expect(gateway.stdout()).toContain(`  usage     recorded in ${livePath} (report: ollama-bridge usage)\n`);
      for (const stream of [true, false, true]) {
        const response = await request(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4o', stream, messages: [{ role: 'user', content: 'hi' }] }) });
        expect(response.statusCode).toBe(200);
        await response.body.text();
      }
      // Yesterday to tomorrow: the requests' UTC day, even across midnight.
      const day = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
      const [since, until] = [day(-1), day(1)];
      let report: { total: { requests: number } } | undefined;
      for (let attempt = 0; attempt < 10 && report?.total.requests !== 3; attempt++) {
        const cli = spawnCli(['usage', '--usage-db', livePath, '--since', since, '--until', until, '--json']);
        expect((await withTimeout(cli.exit, 15_000, 'usage exit')).code).toBe(0);
        report = JSON.parse(cli.stdout());
      }
      expect(gateway.child.exitCode).toBe(null);
      expect(report).toEqual({
        since, until,
        rows: [{ key: null, model: 'fake/model-20260101', requests: 3, prompt_tokens: 21, completion_tokens: 6, reasoning_tokens: 0, cached_tokens: 0, cost_usd: 0.000027 }],
        total: { requests: 3, prompt_tokens: 21, completion_tokens: 6, reasoning_tokens: 0, cached_tokens: 0, cost_usd: 0.000027 },
      });
    } finally {
      gateway.child.kill('SIGTERM');
      await withTimeout(gateway.exit, 15_000, 'gateway exit');
      await fake.close();
    }
  }, 90_000);
});
