/**
 * What every usage store does (SQLite, PostgreSQL), as one `describe` run against each: the
 * factory opens a fresh, empty, writable store per test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageStore } from '../../src/usage/ledger/usage-store.js';
import { usageRecord } from './usage-records.js';

const at = (iso: string): number => Date.parse(iso);

export function describeUsageStoreContract(name: string, openEmptyStore: () => Promise<UsageStore>): void {
  describe(`${name}: the usage store contract`, () => {
    const opened: UsageStore[] = [];
    const open = async (): Promise<UsageStore> => {
      const store = await openEmptyStore();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it('rolls up per key × served model × UTC day, adding batch after batch', async () => {
      const store = await open();
      await store.append([
        usageRecord({ costUsd: 0.5, promptTokens: 1, completionTokens: 2, reasoningTokens: 3, cachedTokens: 4 }),
        usageRecord({ costUsd: 0.25, promptTokens: 10, completionTokens: 20 }),
        usageRecord({ modelServed: 'anthropic/claude', costUsd: 1 }),
        usageRecord({ startedAt: at('2026-05-04T23:59:59.999Z'), keyId: 'key-2', keyName: 'ci', costUsd: 2 }),
      ]);
      await store.append([usageRecord({ costUsd: 0.125, startedAt: at('2026-05-04T00:00:00Z') })]);
      // A request refused before any upstream named a model counts under the model it asked for.
      await store.append([usageRecord({ modelServed: undefined, modelRequested: 'nope', status: 404, outcome: 'failed', costUsd: 0, promptTokens: 0, completionTokens: 0 })]);
      expect(await store.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: ['key', 'model'] })).toEqual([
        { key: 'ci', model: 'openai/gpt-4o-2024-08-06', requests: 1, promptTokens: 10, completionTokens: 20, reasoningTokens: 0, cachedTokens: 0, costUsd: 2 },
        { key: 'laptop', model: 'anthropic/claude', requests: 1, promptTokens: 10, completionTokens: 20, reasoningTokens: 0, cachedTokens: 0, costUsd: 1 },
        { key: 'laptop', model: 'nope', requests: 1, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 },
        { key: 'laptop', model: 'openai/gpt-4o-2024-08-06', requests: 3, promptTokens: 21, completionTokens: 42, reasoningTokens: 3, cachedTokens: 4, costUsd: 0.875 },
      ]);
      expect((await store.detailDays()).filter((day) => day <= '2026-05-31')).toEqual(['2026-05-04']);
    });

    it('skips and returns a record whose fields cannot be stored, and writes the others', async () => {
      const store = await open();
      const missing = usageRecord({ clientAddress: undefined as unknown as string });
      const notFinite = usageRecord({ costUsd: Number.NaN });
      const wrongType = usageRecord({ keyName: 42 as unknown as string });
      const fraction = usageRecord({ promptTokens: 1.5 });
      // An upstream may report any figure; past bigint's range PostgreSQL would fail the batch.
      const huge = usageRecord({ completionTokens: 1e20 });
      // A client may send any model name, NUL included.
      const nul = usageRecord({ modelRequested: 'gpt\u0000-4o', modelServed: undefined, status: 404, outcome: 'failed' });
      expect(await store.append([missing, usageRecord(), notFinite, wrongType, fraction, huge, nul])).toEqual([
        { record: missing, problem: 'client_address is missing' },
        { record: notFinite, problem: 'cost_usd is NaN, not a finite number' },
        { record: wrongType, problem: 'key_name is a number, not a text' },
        { record: fraction, problem: 'prompt_tokens is 1.5, not a whole number up to 2^53' },
        { record: huge, problem: 'completion_tokens is 100000000000000000000, not a whole number up to 2^53' },
        { record: nul, problem: 'model_requested holds a NUL character' },
      ]);
      expect((await store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]).toMatchObject({ requests: 1, costUsd: 0.001 });
      expect(store.health()).toEqual({ writable: true });
    });

    it('reports by day, key and model, in the order asked, between two days inclusive, for one key', async () => {
      const store = await open();
      await store.append([
        usageRecord({ startedAt: at('2026-04-30T12:00:00Z'), costUsd: 100 }),
        usageRecord({ startedAt: at('2026-05-01T00:00:00Z'), costUsd: 1 }),
        usageRecord({ startedAt: at('2026-05-01T08:00:00Z'), keyId: 'key-2', keyName: 'ci', costUsd: 2 }),
        usageRecord({ startedAt: at('2026-05-02T08:00:00Z'), costUsd: 4 }),
        usageRecord({ startedAt: at('2026-05-03T08:00:00Z'), costUsd: 8, keyId: undefined, keyName: undefined }),
        usageRecord({ startedAt: at('2026-05-04T00:00:00Z'), costUsd: 16 }),
        usageRecord({ startedAt: at('2026-05-02T09:00:00Z'), costUsd: 32, keyId: 'key-3', keyName: 'Zed' }),
      ]);
      const query = { sinceDay: '2026-05-01', untilDay: '2026-05-03' };
      expect((await store.report({ ...query, by: ['day'] })).map((row) => [row.day, row.costUsd])).toEqual([['2026-05-01', 3], ['2026-05-02', 36], ['2026-05-03', 8]]);
      // Byte order, as the report has always sorted: no key first, capitals before small letters.
      expect((await store.report({ ...query, by: ['key'] })).map((row) => [row.key, row.costUsd])).toEqual([[null, 8], ['Zed', 32], ['ci', 2], ['laptop', 5]]);
      expect((await store.report({ ...query, by: ['day', 'key'] })).map((row) => Object.keys(row))).toEqual(Array(5).fill(['day', 'key', 'requests', 'promptTokens', 'completionTokens', 'reasoningTokens', 'cachedTokens', 'costUsd']));
      expect((await store.report({ ...query, by: ['key', 'day'] }))[0]).toMatchObject({ key: null, day: '2026-05-03' });
      expect((await store.report({ ...query, by: ['day'], keyName: 'laptop' })).map((row) => [row.day, row.costUsd])).toEqual([['2026-05-01', 1], ['2026-05-02', 4]]);
      expect(await store.report({ ...query, by: [] })).toEqual([{ requests: 5, promptTokens: 50, completionTokens: 100, reasoningTokens: 0, cachedTokens: 0, costUsd: 47 }]);
      expect(await store.report({ ...query, by: ['model'], keyName: 'nobody' })).toEqual([]);
    });

    it('spend per key id since a time: whole days from the totals, a day cut by the time from its detail', async () => {
      const store = await open();
      await store.append([
        usageRecord({ startedAt: at('2026-04-30T23:00:00Z'), costUsd: 100 }),
        usageRecord({ startedAt: at('2026-05-01T09:00:00Z'), costUsd: 1 }),
        usageRecord({ startedAt: at('2026-05-01T11:00:00Z'), costUsd: 2 }),
        usageRecord({ startedAt: at('2026-05-02T11:00:00Z'), costUsd: 4, keyId: 'key-2', keyName: 'ci' }),
        usageRecord({ startedAt: at('2026-05-03T11:00:00Z'), costUsd: 8, keyId: undefined, keyName: undefined }),
      ]);
      expect(await store.spendByKey(at('2026-05-01T00:00:00Z'))).toEqual(new Map([['key-1', 3], ['key-2', 4], ['', 8]]));
      expect(await store.spendByKey(at('2026-05-01T10:00:00Z'))).toEqual(new Map([['key-1', 2], ['key-2', 4], ['', 8]]));
      expect(await store.spendByKey(at('2026-05-01T11:00:00Z'))).toEqual(new Map([['key-1', 2], ['key-2', 4], ['', 8]]));
      expect(await store.spendByKey(0)).toEqual(new Map([['key-1', 103], ['key-2', 4], ['', 8]]));
      expect(await store.spendByKey(at('2026-06-01T00:00:00Z'))).toEqual(new Map());
    });

    it('retention drops whole days of detail and keeps every day\'s totals', async () => {
      const store = await open();
      await store.append(['2026-05-01', '2026-05-02', '2026-05-03'].map((day) => usageRecord({ startedAt: at(`${day}T12:00:00Z`), costUsd: 1 })));
      expect(await store.dropDetailBefore('2026-05-03')).toEqual(['2026-05-01', '2026-05-02']);
      expect((await store.detailDays()).filter((day) => day <= '2026-05-31')).toEqual(['2026-05-03']);
      expect((await store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-03', by: ['day'] })).map((row) => row.requests)).toEqual([1, 1, 1]);
      expect(await store.dropDetailBefore('2026-05-03')).toEqual([]);
      // A dropped day that gets a late record has its detail again.
      await store.append([usageRecord({ startedAt: at('2026-05-01T13:00:00Z') })]);
      expect((await store.detailDays()).filter((day) => day <= '2026-05-31')).toEqual(['2026-05-01', '2026-05-03']);
      // A day cut by `since` whose detail is gone counts whole.
      expect((await store.spendByKey(at('2026-05-02T18:00:00Z'))).get('key-1')).toBe(2);
    });

    it('writes a thousand records of many keys in one batch', async () => {
      const store = await open();
      const records = Array.from({ length: 2_500 }, (_, index) => usageRecord({ keyId: `key-${index % 700}`, keyName: `name-${index % 700}`, startedAt: at('2026-05-04T10:00:00Z') + index, costUsd: 0.5 }));
      expect(await store.append(records)).toEqual([]);
      expect((await store.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: [] }))[0]).toMatchObject({ requests: 2_500, costUsd: 1_250, promptTokens: 25_000 });
      expect((await store.report({ sinceDay: '2026-05-04', untilDay: '2026-05-04', by: ['key'] })).length).toBe(700);
    });
  });
}
