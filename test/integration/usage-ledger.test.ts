/**
 * The ledger in the running gateway: the database opened at start-up (or a start-up error
 * saying what to change), every record of `app.usageEvents` written by the flush, the last
 * ones when the app closes, nothing at all with usage off.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { request } from 'undici';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway } from '../helpers/gateway.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

let fake: FakeOpenRouter;
let scratch: ReturnType<typeof scratchDir>;

const MODEL = 'openai/gpt-4o';
const SLOW_MODEL = 'openai/gpt-4.1';

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  // 7 prompt and 2 completion tokens, $0.000009, served as fake/model-20260101 (gen-…).
  fake.script(MODEL, { sse: textStream(['Hello', ' there'], 'stop', [7, 2]) });
  fake.script(SLOW_MODEL, { sse: textStream(['a', 'b', 'c', 'd'], 'stop', [3, 4]), delayMs: 150 });
  scratch = scratchDir();
});
afterAll(async () => {
  await fake?.close();
  scratch.remove();
});

/** The detail rows of every day, as another connection sees them. */
function detailRows(path: string): Array<Record<string, unknown>> {
  const database = new Database(path, { readonly: true });
  try {
    const tables = database.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'request_detail_%' ORDER BY name").all() as Array<{ name: string }>;
    return tables.flatMap(({ name }) => database.prepare(`SELECT * FROM ${name} ORDER BY started_at`).all() as Array<Record<string, unknown>>);
  } finally {
    database.close();
  }
}

async function waitFor<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const chat = (url: string, model: string, stream: boolean) => request(`${url}/api/chat`, {
  method: 'POST', body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
});

const requestsIn = async (path: string): Promise<number> => {
  const store = openSqliteUsageStore(path, { readonly: true });
  try {
    return (await store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]!.requests;
  } finally {
    await store.close();
  }
};

describe('usage ledger in the gateway', () => {
  it('--usage-db: the database is created owner-only, the ledger is writable, and closing the app writes what it holds', async () => {
    const path = join(scratch.dir, 'new', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: path });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(gateway.app.usageLedgerHealth?.health()).toEqual({ writable: true });
      gateway.app.usageEvents.emit(usageRecord());
      gateway.app.usageEvents.emit(usageRecord());
      expect(await requestsIn(path)).toBe(0);
    } finally {
      await gateway.close();
    }
    expect(await requestsIn(path)).toBe(2);
  });

  it('a usage database that cannot be opened stops the start-up with what to change', async () => {
    const attempt = startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: scratch.dir });
    await expect(attempt).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `cannot open the usage database ${scratch.dir}: it is a directory; choose another file with --usage-db (USAGE_DB), or turn usage recording off with --no-usage (USAGE=false)`,
    });
  });

  it('usage off: no ledger, no file', async () => {
    const path = join(scratch.dir, 'off', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: false, USAGE_DB: path });
    try {
      expect(gateway.app.usageLedger).toBeUndefined();
      expect(gateway.app.usageLedgerHealth).toBeUndefined();
      gateway.app.usageEvents.emit(usageRecord());
    } finally {
      await gateway.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('answered requests over HTTP reach the database at the next flush, every field of their record', async () => {
    const path = join(scratch.dir, 'http', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: path });
    try {
      for (const stream of [true, false]) {
        const response = await chat(gateway.url, MODEL, stream);
        expect(response.statusCode).toBe(200);
        await response.body.text();
      }
      const rows = await waitFor(() => detailRows(path), (found) => found.length >= 2);
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row).toMatchObject({
          key_id: null, key_name: null, client_address: '127.0.0.1', method: 'POST', route: '/api/chat',
          model_requested: MODEL, model_served: 'fake/model-20260101', backend: 'openrouter', status: 200, outcome: 'completed',
          finish_reason: 'stop', error_code: null, prompt_tokens: 7, completion_tokens: 2, tokens_estimated: 0,
          generation_id: 'gen-1767225600-FakeFakeFakeFakeFake',
        });
        expect(row.cost_usd).toBeCloseTo(0.000009, 12);
        expect(row.duration_ms).toBeGreaterThan(0);
        expect(row.time_to_first_token_ms).toBeGreaterThan(0);
        expect(Math.abs((row.started_at as number) - Date.now())).toBeLessThan(60_000);
      }
    } finally {
      await gateway.close();
    }
  });

  it('an answer still streaming when the gateway closes is written by the last flush, after it ends', async () => {
    const path = join(scratch.dir, 'closing', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: path });
    const response = await chat(gateway.url, SLOW_MODEL, true);
    const body = response.body.text();
    // Closing waits for the open answer (its keep-alive connection closed once idle, as server.ts
    // does); the ledger's last flush runs after it.
    const sweep = setInterval(() => gateway.app.server.closeIdleConnections(), 20);
    await gateway.app.close().finally(() => clearInterval(sweep));
    expect((await body).split('\n').filter((line) => line !== '').at(-1)).toMatch(/"done":true/);
    expect(detailRows(path)).toMatchObject([{ route: '/api/chat', outcome: 'completed', prompt_tokens: 3, completion_tokens: 4 }]);
  });
});
