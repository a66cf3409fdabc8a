/**
 * The Redis rate limiter's tokens per minute against a real redis-server, with a short window:
 * the running sum beside the sorted set drops the tokens that leave the window (each once), is
 * rebuilt from the set when missing (its key lost, or a set written by an earlier version), and
 * a check reads the sum rather than every entry of the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RateLimiter } from '../../src/auth/rate-limiter.js';
import { RedisConnection } from '../../src/shared-state/redis-connection.js';
import { RedisRateLimiter } from '../../src/shared-state/redis-rate-limiter.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';

const WINDOW_MS = 1_500;
const silentLog = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!redisAvailable())('Redis tokens per minute: the running sum', () => {
  let redis: TestRedis;
  let connection: RedisConnection;
  let limiter: RedisRateLimiter;
  let inspect: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    connection = new RedisConnection(redis.url, silentLog);
    await new Promise<void>((resolve) => connection.onReady(resolve));
    limiter = new RedisRateLimiter(connection, new RateLimiter(), WINDOW_MS);
    inspect = new Redis(redis.url);
  });
  afterAll(async () => {
    inspect?.disconnect();
    await connection?.close();
    await redis?.stop();
  });

  /** Waits until the fire-and-forget recordTokens has landed. */
  const recorded = async (subject: string, tokens: number): Promise<void> => {
    limiter.recordTokens(subject, tokens);
    for (let attempt = 0; attempt < 50; attempt++) {
      if ((await inspect.zcard(`ollama-bridge:rate:{${subject}}:tokens`)) > 0) return;
      await sleep(10);
    }
  };

  it('refuses once the window holds the limit, and admits again when those tokens leave it', async () => {
    const limits = { tokensPerMinute: 100 };
    expect((await limiter.admit('a', limits)).admitted).toBe(true);
    await recorded('a', 60);
    limiter.recordTokens('a', 50);
    await sleep(50);
    expect(await inspect.get('ollama-bridge:rate:{a}:tokens-sum')).toBe('110');
    expect((await limiter.admit('a', limits)).admitted).toBe(false);
    await sleep(WINDOW_MS + 100);
    expect((await limiter.admit('a', limits)).admitted).toBe(true);
  });

  it('subtracts only what left the window: older entries go, newer ones stay counted', async () => {
    await recorded('b', 70);
    await sleep(900);
    limiter.recordTokens('b', 20);
    await sleep(WINDOW_MS - 900 + 150);
    // The 70 have left the window, the 20 have not.
    expect((await limiter.admit('b', { tokensPerMinute: 25 })).admitted).toBe(true);
    expect(await inspect.get('ollama-bridge:rate:{b}:tokens-sum')).toBe('20');
    expect((await limiter.admit('b', { tokensPerMinute: 20 })).admitted).toBe(false);
  });

  it('a missing sum is counted once from the set (a set an earlier version wrote)', async () => {
    const now = Date.now();
    await inspect.zadd('ollama-bridge:rate:{c}:tokens', now, 'old-gateway.1:40', now, 'old-gateway.2:30');
    await inspect.pexpire('ollama-bridge:rate:{c}:tokens', WINDOW_MS);
    expect((await limiter.admit('c', { tokensPerMinute: 70 })).admitted).toBe(false);
    expect(await inspect.get('ollama-bridge:rate:{c}:tokens-sum')).toBe('70');
    expect((await limiter.admit('c', { tokensPerMinute: 71 })).admitted).toBe(true);
  });
});
