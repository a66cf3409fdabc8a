/**
 * Budget periods on the UTC calendar, and each key's spend in them: seeded, added to from
 * records, rolled over at the period's end.
 */
import { describe, expect, it } from 'vitest';
import { periodEnd, periodStart } from '../../src/usage/budget-period.js';
import { formatUsd } from '../../src/usage/format-usd.js';
import { KEYLESS_SUBJECT, KeySpend } from '../../src/usage/key-spend.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

function record(keyId: string | undefined, costUsd: number): UsageRecord {
  return {
    startedAt: 0, ...(keyId === undefined ? {} : { keyId }), clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat',
    status: 200, outcome: 'completed', promptTokens: 1, completionTokens: 1, tokensEstimated: false, costUsd, durationMs: 1,
  };
}

describe('budget periods', () => {
  it('day, week (from Monday), month and total, in UTC', () => {
    // 2026-03-01 is a Sunday.
    const sunday = at('2026-03-01T23:59:59.999Z');
    expect(iso(periodStart('day', sunday))).toBe('2026-03-01T00:00:00.000Z');
    expect(iso(periodEnd('day', sunday))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(periodStart('week', sunday))).toBe('2026-02-23T00:00:00.000Z');
    expect(iso(periodEnd('week', sunday))).toBe('2026-03-02T00:00:00.000Z');
    const monday = at('2026-03-02T00:00:00.000Z');
    expect(iso(periodStart('week', monday))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(periodStart('month', sunday))).toBe('2026-03-01T00:00:00.000Z');
    expect(iso(periodEnd('month', at('2026-12-31T12:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(periodEnd('month', at('2028-02-10T00:00:00Z')))).toBe('2028-03-01T00:00:00.000Z');
    expect(periodStart('total', sunday)).toBe(0);
    expect(periodEnd('total', sunday)).toBe(Number.POSITIVE_INFINITY);
  });

  it('amounts in USD: cents at least, small costs not rounded away', () => {
    expect(formatUsd(10)).toBe('$10.00');
    expect(formatUsd(2.5)).toBe('$2.50');
    expect(formatUsd(0.000012)).toBe('$0.000012');
    expect(formatUsd(0)).toBe('$0.00');
  });
});

describe('KeySpend', () => {
  it('adds each record to its key in every period; costless records and other keys stay apart', () => {
    const spend = new KeySpend(() => at('2026-03-04T10:00:00Z'));
    spend.record(record('alpha', 0.25));
    spend.record(record('alpha', 0.5));
    spend.record(record('beta', 0));
    spend.record(record(undefined, 0.125));
    for (const period of ['day', 'week', 'month', 'total'] as const) expect(spend.spent('alpha', period)).toBe(0.75);
    expect(spend.spent('beta', 'day')).toBe(0);
    expect(spend.spent(KEYLESS_SUBJECT, 'day')).toBe(0.125);
  });

  it('starts a period from nothing at its end, each period at its own', () => {
    let now = at('2026-03-01T23:00:00Z'); // a Sunday: the day and the week end at midnight, the month does not
    const spend = new KeySpend(() => now);
    spend.record(record('alpha', 1));
    expect(iso(spend.resetsAt('day'))).toBe('2026-03-02T00:00:00.000Z');
    now = at('2026-03-02T00:00:00Z');
    expect(spend.spent('alpha', 'day')).toBe(0);
    expect(spend.spent('alpha', 'week')).toBe(0);
    expect(spend.spent('alpha', 'month')).toBe(1);
    expect(spend.spent('alpha', 'total')).toBe(1);
    expect(spend.resetsAt('total')).toBe(Number.POSITIVE_INFINITY);
    // A clock set back does not bring the old period (or lose the new one's figures).
    spend.record(record('alpha', 2));
    now = at('2026-03-01T23:59:00Z');
    expect(spend.spent('alpha', 'day')).toBe(2);
  });

  it('is seeded from the ledger with each period start, in one read', async () => {
    const asked: string[][] = [];
    const spend = new KeySpend(() => at('2026-03-04T10:00:00Z'));
    await spend.seed(async (sinceTimes) => {
      asked.push(sinceTimes.map(iso));
      return sinceTimes.map((sinceMs) => new Map([['alpha', sinceMs === 0 ? 9 : 3]]));
    });
    expect(asked).toEqual([['2026-03-04T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '1970-01-01T00:00:00.000Z']]);
    spend.record(record('alpha', 1));
    expect(spend.spent('alpha', 'day')).toBe(4);
    expect(spend.spent('alpha', 'total')).toBe(10);
  });

  it('a seed replaces what was counted (the ledger\'s figures include every record taken so far)', async () => {
    const spend = new KeySpend(() => at('2026-03-04T10:00:00Z'));
    spend.record(record('alpha', 1));
    await spend.seed(async (sinceTimes) => sinceTimes.map(() => new Map([['alpha', 5]])));
    expect(spend.spent('alpha', 'day')).toBe(5);
  });
});
