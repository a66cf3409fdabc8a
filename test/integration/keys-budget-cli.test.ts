/**
 * `ollama-bridge keys create --budget-usd N [--budget-period P]` and `keys list` with each
 * key's budget and its spend in the budget's current period, read from the usage database
 * while the gateway that writes it runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodStart } from '../../src/usage/budget-period.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, withTimeout } from '../helpers/cli-process.js';
import { startGateway } from '../helpers/gateway.js';

let scratch: string;
let keysFile: string;
let fake: FakeOpenRouter;

async function keys(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = spawnCli(['keys', ...args, '--keys-file', keysFile], { env: { HOME: scratch, ...env } });
  const { code } = await withTimeout(cli.exit, 20_000, `keys ${args.join(' ')}`);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** `keys list` as rows of cells by column title. */
function table(stdout: string): Array<Record<string, string>> {
  const [header, ...rows] = stdout.trimEnd().split('\n').map((line) => line.split(/\s{2,}/));
  return rows.map((cells) => Object.fromEntries(header!.map((title, column) => [title, cells[column] ?? ''])));
}

function spent(keyId: string, keyName: string, costUsd: number, startedAt: number): UsageRecord {
  return {
    startedAt, keyId, keyName, clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', modelRequested: 'openai/gpt-4o', modelServed: 'openai/gpt-4o',
    status: 200, outcome: 'completed', promptTokens: 10, completionTokens: 10, tokensEstimated: false, costUsd, durationMs: 5,
  };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-keys-budget-'));
  keysFile = join(scratch, 'keys.json');
  fake = await startFakeOpenRouter();
});
afterAll(async () => {
  killAllClis();
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('keys create --budget-usd', () => {
  it('stores the budget and its period (month unless named) and says it', async () => {
    const weekly = await keys(['create', '--name', 'weekly', '--budget-usd', '2.5', '--budget-period', 'week']);
    expect(weekly.code).toBe(0);
    expect(weekly.stdout).toContain('budget: $2.50/week');
    const monthly = await keys(['create', '--name', 'monthly', '--budget-usd', '10']);
    expect(monthly.stdout).toContain('budget: $10.00/month');
    const defaulted = await keys(['create', '--name', 'defaulted']);
    expect(defaulted.stdout).toContain('budget: the default');
    const stored = JSON.parse(readFileSync(keysFile, 'utf8'));
    expect(stored.version).toBe(2);
    expect(stored.keys.map((key: { budgetUsd?: number; budgetPeriod?: string }) => [key.budgetUsd, key.budgetPeriod])).toEqual([[2.5, 'week'], [10, 'month'], [undefined, undefined]]);
  }, 60_000);

  it('a bad budget: exit code 2 and what is wrong', async () => {
    const cases: Array<[string[], string]> = [
      [['--budget-usd', '0'], '--budget-usd must be a positive amount in USD'],
      [['--budget-usd', '-3'], '--budget-usd must be a positive amount in USD'],
      [['--budget-usd', '5', '--budget-period', 'year'], '--budget-period "year" is not one of day, week, month, total'],
      [['--budget-period', 'day'], '--budget-period needs --budget-usd'],
    ];
    const answers = await Promise.all(cases.map(([flags], index) => keys(['create', '--name', `bad${index}`, ...flags])));
    answers.forEach((answer, index) => {
      expect(answer.code, cases[index]![0].join(' ')).toBe(2);
      expect(answer.stderr).toContain(cases[index]![1]);
    });
    expect(JSON.parse(readFileSync(keysFile, 'utf8')).keys).toHaveLength(3);
  }, 60_000);
});

describe('keys list', () => {
  it('shows each budget (the default from BUDGET_USD) and "-" for spend with no usage database', async () => {
    const listing = await keys(['list', '--usage-db', join(scratch, 'none.db')], { BUDGET_USD: '5' });
    expect(listing.code).toBe(0);
    expect(table(listing.stdout).map((row) => [row.NAME, row.BUDGET, row.SPENT])).toEqual([
      ['weekly', '$2.50/week', '-'],
      ['monthly', '$10.00/month', '-'],
      ['defaulted', '$5.00/month (default)', '-'],
    ]);
  }, 30_000);

  it("reads each key's spend in its period from the usage database while the gateway runs", async () => {
    const usageDb = join(scratch, 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, USAGE: true, USAGE_DB: usageDb });
    try {
      const ids = Object.fromEntries(JSON.parse(readFileSync(keysFile, 'utf8')).keys.map((key: { name: string; id: string }) => [key.name, key.id]));
      const now = Date.now();
      const lastWeek = periodStart('week', now) - 3_600_000;
      gateway.app.usageEvents.emit(spent(ids.weekly, 'weekly', 1.25, now));
      gateway.app.usageEvents.emit(spent(ids.weekly, 'weekly', 7, lastWeek));
      gateway.app.usageEvents.emit(spent(ids.monthly, 'monthly', 0.5, now));
      gateway.app.usageEvents.emit(spent(ids.monthly, 'monthly', 3, periodStart('month', now) - 3_600_000));
      await gateway.app.usageLedger!.flush();
      const listing = await keys(['list', '--usage-db', usageDb]);
      expect(listing.code).toBe(0);
      const rows = table(listing.stdout);
      expect(rows.map((row) => [row.NAME, row.BUDGET, row.SPENT])).toEqual([
        ['weekly', '$2.50/week', '$1.25'],
        ['monthly', '$10.00/month', '$0.50'],
        ['defaulted', '-', '$0.00'],
      ]);
      expect(Object.keys(rows[0]!)).toEqual(['ID', 'NAME', 'MODELS', 'CREATED', 'EXPIRES', 'BUDGET', 'SPENT', 'SCOPES']);
    } finally {
      await gateway.close();
    }
  }, 30_000);
});
