import { describe, expect, it, vi } from 'vitest';
import { nowRfc3339Nano, toRfc3339Nano } from '../../src/core/clock.js';

describe('timestamps', () => {
  it('are RFC 3339 UTC with nine fractional digits and agree with the wall clock to the millisecond', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 10, 23, 15, 4, 5, 67) });
    try {
      const stamp = nowRfc3339Nano();
      expect(stamp).toMatch(/^2026-11-23T15:04:05\.067\d{6}Z$/);
      vi.setSystemTime(Date.UTC(2026, 10, 23, 15, 4, 6, 999));
      expect(nowRfc3339Nano()).toMatch(/^2026-11-23T15:04:06\.999\d{6}Z$/);
      vi.setSystemTime(Date.UTC(2026, 11, 31, 23, 59, 59, 0));
      expect(nowRfc3339Nano()).toMatch(/^2026-12-31T23:59:59\.000\d{6}Z$/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says the millisecond and nothing finer: calls within one millisecond get the same stamp, zeros below it', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.UTC(2026, 10, 23, 15, 4, 5, 67) });
    try {
      const stamps = [nowRfc3339Nano(), nowRfc3339Nano(), nowRfc3339Nano()];
      expect(stamps).toEqual(Array(3).fill('2026-11-23T15:04:05.067000000Z'));
      vi.setSystemTime(Date.UTC(2026, 10, 23, 15, 4, 5, 68));
      expect(nowRfc3339Nano()).toBe('2026-11-23T15:04:05.068000000Z');
    } finally {
      vi.useRealTimers();
    }
  });

  it('formats a fixed instant the same way', () => {
    expect(toRfc3339Nano(Date.UTC(2025, 0, 16, 4, 0, 0, 5))).toBe('2025-01-16T04:00:00.005000000Z');
  });
});
