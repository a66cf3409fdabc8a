/**
 * The settings of issue 18's Redis and workers: --workers takes a number or `auto`, anything
 * else is a configuration error naming the flag; --redis-url must be a redis:// or rediss://
 * URL; the password in it is registered as a secret (never logged).
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { workerCount } from '../../src/cluster/worker-count.js';
import { redactSecrets, registerSecrets } from '../../src/core/secrets.js';
import { redisUrlSecrets } from '../../src/shared-state/shared-state.js';

const load = (overrides: Record<string, unknown>) => loadConfig({ overrides, envFile: false, readProcessEnv: false });

describe('--workers', () => {
  it('is 1 by default, a number, or auto (one per core)', () => {
    expect(workerCount(load({}).WORKERS)).toBe(1);
    expect(workerCount(load({ WORKERS: '3' }).WORKERS)).toBe(3);
    expect(workerCount(load({ WORKERS: 'auto' }).WORKERS)).toBe(availableParallelism());
  });

  it('refuses anything else', () => {
    for (const value of ['two', '1.5', '2x']) expect(() => load({ WORKERS: value }), value).toThrow(/WORKERS: must be a whole number from 1 to 256, or auto/);
    expect(() => load({ WORKERS: '0' })).toThrow(/WORKERS: must be >= 1/);
    expect(() => load({ WORKERS: '300' })).toThrow(/WORKERS: must be <= 256/);
  });
});

describe('--redis-url', () => {
  it('takes redis:// and rediss:// URLs only', () => {
    expect(load({ REDIS_URL: 'redis://127.0.0.1:6379' }).REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(load({ REDIS_URL: 'rediss://user:pw@redis.example:6380/2' }).REDIS_URL).toBe('rediss://user:pw@redis.example:6380/2');
    expect(() => load({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => load({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
  });

  it('its password is redacted wherever it would be written', () => {
    const url = 'redis://:s3cret%2Fpassword@redis:6379';
    const registration = registerSecrets(redisUrlSecrets(url));
    try {
      const line = redactSecrets(`connect to ${url} failed; password s3cret/password`);
      expect(line).not.toContain('s3cret');
    } finally {
      registration.release();
    }
    expect(redisUrlSecrets('redis://127.0.0.1:6379')).toEqual([]);
  });
});
