import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/auth/rate-limiter.js';

describe('RateLimiter', () => {
  it('counts each subject on its own and admits again once the minute has passed', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    expect(limiter.admit('address 127.0.0.1', { requestsPerMinute: 1 })).toEqual({ admitted: true });
    expect(limiter.admit('address 127.0.0.1', { requestsPerMinute: 1 })).toMatchObject({ admitted: false, retryAfterSeconds: 60 });
    expect(limiter.admit('address 127.0.0.2', { requestsPerMinute: 1 })).toEqual({ admitted: true });
    now += 60_001;
    expect(limiter.admit('address 127.0.0.1', { requestsPerMinute: 1 })).toEqual({ admitted: true });
  });

  it('forgets subjects that have gone quiet, so many client addresses do not pile up', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(() => now);
    for (let index = 0; index < 1000; index++) limiter.admit(`address 10.0.${index >> 8}.${index & 255}`, { requestsPerMinute: 5 });
    expect(limiter.size).toBe(1000);
    now += 61_000;
    limiter.admit('address 10.1.0.1', { requestsPerMinute: 5 });
    expect(limiter.size).toBe(1);
  });
});
