import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteUsageStore, UsageStoreError, type SqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { SCHEMA_VERSION } from '../../src/usage/ledger/migrations.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';
import { describeUsageStoreContract } from '../helpers/usage-store-contract.js';

const at = (iso: string): number => Date.parse(iso);

describe('SQLite usage store', async () => {
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
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    scratch.remove();
  });

  it('migrates an empty file to the current schema, in WAL mode, created readable by its owner only', async () => {
    await open().close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(scratch.dir, 'data')).mode & 0o777).toBe(0o700);
    const database = new Database(path, { readonly: true });
    expect(database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(database.pragma('journal_mode', { simple: true })).toBe('wal');
    database.close();
  });

  it('re-opens a migrated file without migrating again, and keeps what it holds', async () => {
    const first = open();
    await first.append([usageRecord()]);
    await first.close();
    const again = open();
    expect((await again.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]!.requests).toBe(1);
  });

  it('refuses a database written by a newer version, naming the file', async () => {
    await open().close();
    const database = new Database(path);
    database.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    database.close();
    expect(() => open()).toThrow(/written by a newer ollama-bridge/);
  });

  it('says what is wrong with a file that is not a database', async () => {
    writeFileSync(path.replace('data/usage.db', 'not-a-db'), 'hello, this is text and not SQLite at all'.repeat(50));
    path = path.replace('data/usage.db', 'not-a-db');
    expect(() => open()).toThrow(UsageStoreError);
    expect(() => open()).toThrow(/cannot open the usage database .*not-a-db: the file is not a SQLite database/);
  });

  it('read-only: the file must exist and be a ledger', async () => {
    expect(() => open(true)).toThrow(/cannot open the usage database/);
    new Database(path.replace('data/usage.db', 'other.db')).close();
    path = path.replace('data/usage.db', 'other.db');
    expect(() => open(true)).toThrow(/is not a usage database/);
  });

  it('writes a batch: every field of each record in its day\'s detail table', async () => {
    const store = open();
    const record = usageRecord({ errorCode: 'UPSTREAM_ERROR', tokensEstimated: true, cachedTokens: 4, reasoningTokens: 3 });
    const keyless = usageRecord({ keyId: undefined, keyName: undefined, startedAt: at('2026-05-05T01:00:00Z'), timeToFirstTokenMs: undefined });
    await store.append([record, keyless]);
    expect(await store.detailDays()).toEqual(['2026-05-04', '2026-05-05']);
    await store.close();
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

  it('a batch that fails writes nothing, neither detail nor totals, and says so in its health', async () => {
    const store = open();
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    await expect(store.append([usageRecord(), usageRecord({ startedAt: Date.parse('2026-05-05T00:00:00Z') })])).rejects.toThrow(/database is locked/);
    expect(store.health()).toEqual({ writable: false, reason: 'the last write to the usage database failed: database is locked' });
    blocker.exec('COMMIT');
    blocker.close();
    expect((await store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]!.requests).toBe(0);
    expect(await store.detailDays()).toEqual([]);
    expect(await store.append([usageRecord()])).toEqual([]);
    expect(store.health()).toEqual({ writable: true });
    expect((await store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]!.requests).toBe(1);
  });

  it('is read while another connection writes (WAL), and a read-only store never writes', async () => {
    const writer = open();
    await writer.append([usageRecord()]);
    const reader = open(true);
    expect((await reader.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: [] }))[0]!.requests).toBe(1);
    await writer.append([usageRecord()]);
    expect((await reader.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: [] }))[0]!.requests).toBe(2);
    await expect(reader.append([usageRecord()])).rejects.toThrow(/read-only/);
    expect(reader.health()).toEqual({ writable: false, reason: 'the usage database was opened read-only' });
  });
});

describeUsageStoreContract('SQLite', async () => {
  const scratch = scratchDir();
  const store = openSqliteUsageStore(join(scratch.dir, 'usage.db'));
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    scratch.remove();
  };
  return store;
});
