import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteUsageStore, UsageStoreError, type SqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { SCHEMA_VERSION } from '../../src/usage/ledger/migrations.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

const at = (iso: string): number => Date.parse(iso);

describe('SQLite usage store', () => {
  let scratch: ReturnType<typeof scratchDir>;
  let path: string;
  const opened: SqliteUsageStore[] = [];
  const open = (readonly = false): SqliteUsageStore => {
    const store = openSqliteUsageStore(path, { readonly });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    scratch = scratchDir();
    path = join(scratch.dir, 'data', 'usage.db');
  });
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
    scratch.remove();
  });

  it('migrates an empty file to the current schema, in WAL mode, created readable by its owner only', () => {
    open().close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(scratch.dir, 'data')).mode & 0o777).toBe(0o700);
    const database = new Database(path, { readonly: true });
    expect(database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();
  });

  it('re-opens a migrated file without migrating again, and keeps what it holds', () => {
    const first = open();
    first.append([usageRecord()]);
    first.close();
    const again = open();
    expect(again.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] })[0]!.requests).toBe(1);
  });

  it('refuses a database written by a newer version, naming the file', () => {
    open().close();
    const database = new Database(path);
    database.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    database.close();
    expect(() => open()).toThrow(/written by a newer ollama-bridge/);
  });

  it('says what is wrong with a file that is not a database', () => {
    writeFileSync(path.replace('data/usage.db', 'not-a-db'), 'hello, this is text and not SQLite at all'.repeat(50));
    path = path.replace('data/usage.db', 'not-a-db');
    expect(() => open()).toThrow(UsageStoreError);
    expect(() => open()).toThrow(/cannot open the usage database .*not-a-db: the file is not a SQLite database/);
  });

  it('read-only: the file must exist and be a ledger', () => {
    expect(() => open(true)).toThrow(/cannot open the usage database/);
    new Database(path.replace('data/usage.db', 'other.db')).close();
    path = path.replace('data/usage.db', 'other.db');
    expect(() => open(true)).toThrow(/is not a usage database/);
  });

  it('writes a batch: every field of each record in its day\'s detail table', () => {
    const store = open();
    const record = usageRecord({ errorCode: 'UPSTREAM_ERROR', tokensEstimated: true, cachedTokens: 4, reasoningTokens: 3 });
    const keyless = usageRecord({ keyId: undefined, keyName: undefined, startedAt: at('2026-05-05T01:00:00Z'), timeToFirstTokenMs: undefined });
    store.append([record, keyless]);
    expect(store.detailDays()).toEqual(['2026-05-04', '2026-05-05']);
    store.close();
    const database = new Database(path, { readonly: true });
    expect(database.prepare('SELECT * FROM request_detail_20260504').all()).toEqual([{
      started_at: record.startedAt, key_id: 'key-1', key_name: 'laptop', client_address: '127.0.0.1', method: 'POST', route: '/api/chat',
      model_requested: 'gpt-4o', model_served: 'openai/gpt-4o-2024-08-06', backend: 'openrouter', status: 200, outcome: 'completed',
      finish_reason: 'stop', error_code: 'UPSTREAM_ERROR', prompt_tokens: 10, completion_tokens: 20, reasoning_tokens: 3, cached_tokens: 4,
      tokens_estimated: 1, cost_usd: 0.001, generation_id: 'gen-1', time_to_first_token_ms: 50, duration_ms: 200,
    }]);
    expect(database.prepare('SELECT key_id, key_name, time_to_first_token_ms FROM request_detail_20260505').get()).toEqual({ key_id: null, key_name: null, time_to_first_token_ms: null });
    database.close();
  });

  it('rolls up per key × served model × UTC day, adding batch after batch', () => {
    const store = open();
    store.append([
      usageRecord({ costUsd: 0.5, promptTokens: 1, completionTokens: 2, reasoningTokens: 3, cachedTokens: 4 }),
      usageRecord({ costUsd: 0.25, promptTokens: 10, completionTokens: 20 }),
      usageRecord({ modelServed: 'anthropic/claude', costUsd: 1 }),
      usageRecord({ startedAt: at('2026-05-04T23:59:59.999Z'), keyId: 'key-2', keyName: 'ci', costUsd: 2 }),
    ]);
    store.append([usageRecord({ costUsd: 0.125, startedAt: at('2026-05-04T00:00:00Z') })]);
    // A request refused before any upstream named a model counts under the model it asked for.
    store.append([usageRecord({ modelServed: undefined, modelRequested: 'nope', status: 404, outcome: 'failed', costUsd: 0, promptTokens: 0, completionTokens: 0 })]);
    expect(store.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: ['key', 'model'] })).toEqual([
      { key: 'ci', model: 'openai/gpt-4o-2024-08-06', requests: 1, promptTokens: 10, completionTokens: 20, reasoningTokens: 0, cachedTokens: 0, costUsd: 2 },
      { key: 'laptop', model: 'anthropic/claude', requests: 1, promptTokens: 10, completionTokens: 20, reasoningTokens: 0, cachedTokens: 0, costUsd: 1 },
      { key: 'laptop', model: 'nope', requests: 1, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 },
      { key: 'laptop', model: 'openai/gpt-4o-2024-08-06', requests: 3, promptTokens: 21, completionTokens: 42, reasoningTokens: 3, cachedTokens: 4, costUsd: 0.875 },
    ]);
  });

  it('a batch that fails writes nothing, neither detail nor totals, and says so in its health', () => {
    const store = open();
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    expect(() => store.append([usageRecord(), usageRecord({ startedAt: Date.parse('2026-05-05T00:00:00Z') })])).toThrow(/database is locked/);
    expect(store.health()).toEqual({ writable: false, reason: 'the last write to the usage database failed: database is locked' });
    blocker.exec('COMMIT');
    blocker.close();
    expect(store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] })[0]!.requests).toBe(0);
    expect(store.detailDays()).toEqual([]);
    expect(store.append([usageRecord()])).toEqual([]);
    expect(store.health()).toEqual({ writable: true });
    expect(store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] })[0]!.requests).toBe(1);
  });

  it('skips and returns a record whose fields cannot be stored, and writes the others', () => {
    const store = open();
    const missing = usageRecord({ clientAddress: undefined as unknown as string });
    const notFinite = usageRecord({ costUsd: Number.NaN });
    const wrongType = usageRecord({ keyName: 42 as unknown as string });
    expect(store.append([missing, usageRecord(), notFinite, wrongType])).toEqual([
      { record: missing, problem: 'client_address is missing' },
      { record: notFinite, problem: 'cost_usd is NaN, not a finite number' },
      { record: wrongType, problem: 'key_name is a number, not a text' },
    ]);
    expect(store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] })[0]).toMatchObject({ requests: 1, costUsd: 0.001 });
  });

  it('reports by day, key and model, in the order asked, between two days inclusive, for one key', () => {
    const store = open();
    store.append([
      usageRecord({ startedAt: at('2026-04-30T12:00:00Z'), costUsd: 100 }),
      usageRecord({ startedAt: at('2026-05-01T00:00:00Z'), costUsd: 1 }),
      usageRecord({ startedAt: at('2026-05-01T08:00:00Z'), keyId: 'key-2', keyName: 'ci', costUsd: 2 }),
      usageRecord({ startedAt: at('2026-05-02T08:00:00Z'), costUsd: 4 }),
      usageRecord({ startedAt: at('2026-05-03T08:00:00Z'), costUsd: 8, keyId: undefined, keyName: undefined }),
      usageRecord({ startedAt: at('2026-05-04T00:00:00Z'), costUsd: 16 }),
    ]);
    const query = { sinceDay: '2026-05-01', untilDay: '2026-05-03' };
    expect(store.report({ ...query, by: ['day'] }).map((row) => [row.day, row.costUsd])).toEqual([['2026-05-01', 3], ['2026-05-02', 4], ['2026-05-03', 8]]);
    expect(store.report({ ...query, by: ['key'] }).map((row) => [row.key, row.costUsd])).toEqual([[null, 8], ['ci', 2], ['laptop', 5]]);
    expect(store.report({ ...query, by: ['day', 'key'] }).map((row) => Object.keys(row))).toEqual(Array(4).fill(['day', 'key', 'requests', 'promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'costUsd']));
    expect(store.report({ ...query, by: ['key', 'day'] })[0]).toMatchObject({ key: null, day: '2026-05-03' });
    expect(store.report({ ...query, by: ['day'], keyName: 'laptop' }).map((row) => [row.day, row.costUsd])).toEqual([['2026-05-01', 1], ['2026-05-02', 4]]);
    expect(store.report({ ...query, by: [] })).toEqual([{ requests: 4, promptTokens: 40, completionTokens: 80, reasoningTokens: 0, cachedTokens: 0, costUsd: 15 }]);
    expect(store.report({ ...query, by: ['model'], keyName: 'nobody' })).toEqual([]);
  });

  it('spend per key id since a time: whole days from the totals, a day cut by the time from its detail', () => {
    const store = open();
    store.append([
      usageRecord({ startedAt: at('2026-04-30T23:00:00Z'), costUsd: 100 }),
      usageRecord({ startedAt: at('2026-05-01T09:00:00Z'), costUsd: 1 }),
      usageRecord({ startedAt: at('2026-05-01T11:00:00Z'), costUsd: 2 }),
      usageRecord({ startedAt: at('2026-05-02T11:00:00Z'), costUsd: 4, keyId: 'key-2', keyName: 'ci' }),
      usageRecord({ startedAt: at('2026-05-03T11:00:00Z'), costUsd: 8, keyId: undefined, keyName: undefined }),
    ]);
    expect(store.spendByKey(at('2026-05-01T00:00:00Z'))).toEqual(new Map([['key-1', 3], ['key-2', 4], ['', 8]]));
    expect(store.spendByKey(at('2026-05-01T10:00:00Z'))).toEqual(new Map([['key-1', 2], ['key-2', 4], ['', 8]]));
    expect(store.spendByKey(0)).toEqual(new Map([['key-1', 103], ['key-2', 4], ['', 8]]));
    expect(store.spendByKey(at('2026-06-01T00:00:00Z'))).toEqual(new Map());
  });

  it('retention drops whole days of detail and keeps every day\'s totals', () => {
    const store = open();
    store.append(['2026-05-01', '2026-05-02', '2026-05-03'].map((day) => usageRecord({ startedAt: at(`${day}T12:00:00Z`), costUsd: 1 })));
    expect(store.dropDetailBefore('2026-05-03')).toEqual(['2026-05-01', '2026-05-02']);
    expect(store.detailDays()).toEqual(['2026-05-03']);
    expect(store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-03', by: ['day'] }).map((row) => row.requests)).toEqual([1, 1, 1]);
    expect(store.dropDetailBefore('2026-05-03')).toEqual([]);
    // A dropped day that gets a late record has its table again.
    store.append([usageRecord({ startedAt: at('2026-05-01T13:00:00Z') })]);
    expect(store.detailDays()).toEqual(['2026-05-01', '2026-05-03']);
    // A day cut by `since` whose detail is gone counts whole.
    expect(store.spendByKey(at('2026-05-02T18:00:00Z')).get('key-1')).toBe(2);
  });

  it('is read while another connection writes (WAL), and a read-only store never writes', () => {
    const writer = open();
    writer.append([usageRecord()]);
    const reader = open(true);
    expect(reader.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: [] })[0]!.requests).toBe(1);
    writer.append([usageRecord()]);
    expect(reader.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: [] })[0]!.requests).toBe(2);
    expect(() => reader.append([usageRecord()])).toThrow(/read-only/);
    expect(reader.health()).toEqual({ writable: false, reason: 'the usage database was opened read-only' });
  });
});
