import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { usageCommand, type UsageCommandOptions } from '../../src/usage/ledger/usage-command.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

let scratch: ReturnType<typeof scratchDir>;
let dbPath: string;
const at = (iso: string): number => Date.parse(iso);

beforeAll(async () => {
  scratch = scratchDir();
  dbPath = join(scratch.dir, 'usage.db');
  const store = openSqliteUsageStore(dbPath);
  await store.append([
    usageRecord({ startedAt: at('2026-04-30T23:59:59Z'), costUsd: 100 }),
    usageRecord({ startedAt: at('2026-05-01T00:00:00Z'), costUsd: 0.1 }),
    usageRecord({ startedAt: at('2026-05-01T12:00:00Z'), costUsd: 0.2 }),
    usageRecord({ startedAt: at('2026-05-02T12:00:00Z'), costUsd: 0.3, modelServed: 'anthropic/claude-sonnet-4' }),
    usageRecord({ startedAt: at('2026-05-02T13:00:00Z'), costUsd: 0.4, keyId: 'key-2', keyName: 'ci' }),
    usageRecord({ startedAt: at('2026-05-03T13:00:00Z'), costUsd: 0, keyId: undefined, keyName: undefined }),
    usageRecord({ startedAt: at('2026-06-01T00:00:00Z'), costUsd: 1000 }),
  ]);
  await store.close();
});
afterAll(() => scratch.remove());

const json = async (options: Partial<UsageCommandOptions> = {}) => JSON.parse(await usageCommand({ dbPath, since: '2026-05-01', until: '2026-05-31', format: 'json', ...options }));

describe('usage command', async () => {
  it('by day: a row per day, holding only the day', async () => {
    const report = await json({ by: ['day'] });
    expect(report.rows.map((row: { day: string; requests: number; cost_usd: number }) => [row.day, row.requests, row.cost_usd])).toEqual([
      ['2026-05-01', 2, 0.3], ['2026-05-02', 2, 0.7], ['2026-05-03', 1, 0],
    ]);
    expect(Object.keys(report.rows[0])).toEqual(['day', 'requests', 'prompt_tokens', 'completion_tokens', 'reasoning_tokens', 'cached_tokens', 'cost_usd']);
  });

  it('--by repeated or comma-separated, in the order given, each grouping once', async () => {
    const repeated = await json({ by: ['day', 'key'] });
    expect(await json({ by: ['day,key'] })).toEqual(repeated);
    expect(await json({ by: ['day', 'key,day'] })).toEqual(repeated);
    expect(Object.keys(repeated.rows[0]).slice(0, 2)).toEqual(['day', 'key']);
    expect(Object.keys((await json({ by: ['model', 'day', 'key'] })).rows[0]).slice(0, 3)).toEqual(['model', 'day', 'key']);
  });

  it('by key and model unless told', async () => {
    expect((await json()).rows.map((row: object) => Object.keys(row).slice(0, 2))[0]).toEqual(['key', 'model']);
  });

  it('--key keeps one key\'s requests, rows and totals', async () => {
    const laptop = await json({ keyName: 'laptop', by: ['day'] });
    expect(laptop.rows.map((row: { day: string; requests: number }) => [row.day, row.requests])).toEqual([['2026-05-01', 2], ['2026-05-02', 1]]);
    expect(laptop.total).toMatchObject({ requests: 3, cost_usd: 0.6 });
  });

  it('the days default to this month up to today (UTC)', async () => {
    const report = JSON.parse(await usageCommand({ dbPath, format: 'json', now: at('2026-06-15T08:00:00Z') }));
    expect([report.since, report.until, report.total.cost_usd]).toEqual(['2026-06-01', '2026-06-15', 1000]);
  });

  it('days without requests: zero totals; the table says so', async () => {
    expect(await json({ since: '2025-01-01', until: '2025-01-31' })).toEqual({ since: '2025-01-01', until: '2025-01-31', rows: [], total: { requests: 0, prompt_tokens: 0, completion_tokens: 0, reasoning_tokens: 0, cached_tokens: 0, cost_usd: 0 } });
    expect(await usageCommand({ dbPath, since: '2025-01-01', until: '2025-01-31', format: 'table' })).toMatch(/no requests recorded in these days$/);
  });

  it('says what is wrong with its options', async () => {
    const run = (options: Partial<UsageCommandOptions>) => () => usageCommand({ dbPath, format: 'json', ...options });
    await expect(run({ since: '2026-5-1' })()).rejects.toThrow('--since 2026-5-1 is not a day: use YYYY-MM-DD (UTC)');
    await expect(run({ until: '2026-13-01' })()).rejects.toThrow('--until 2026-13-01 is not a day');
    await expect(run({ since: '2026-05-02', until: '2026-05-01' })()).rejects.toThrow('--since 2026-05-02 is after --until 2026-05-01');
    await expect(run({ by: ['model,week'] })()).rejects.toThrow('--by week: group by key, model, day (one or more, e.g. --by key,day)');
    await expect(run({ dbPath: join(scratch.dir, 'none.db') })()).rejects.toThrow(/^no usage database at .*none\.db: the gateway creates it on its first start with usage recording on \(the default\); name another with --usage-db \(env USAGE_DB\), or read PostgreSQL with --database-url \(env DATABASE_URL\)$/);
  });
});
