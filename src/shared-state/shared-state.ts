/**
 * What several gateways share through one Redis (`--redis-url`): rate limits, budget spend,
 * key changes, `/api/ps` recency and admin sign-outs. Started by app.ts when a Redis URL is
 * configured; the gateway starts and serves whether Redis answers or not (each part falls back
 * to this process's own state meanwhile; see each file).
 */
import type { KeyRing } from '../auth/key-ring.js';
import { RateLimiter } from '../auth/rate-limiter.js';
import type { Log } from '../core/log.js';
import type { ModelCatalog } from '../core/model-catalog.js';
import type { KeySpend } from '../usage/key-spend.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeySync } from './redis-key-sync.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisRecentUse } from './redis-recent-use.js';
import { RedisSignOuts } from './redis-sign-outs.js';
import { RedisSpend } from './redis-spend.js';

/** What /health/ready and /metrics read of the shared store. */
export interface SharedStoreStatus {
  readiness(): { state: 'off' | RedisConnection['state'] };
  metrics(): { up: boolean; fallbacks: ReadonlyMap<string, number> } | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared store's state; undefined until app.ts has set it up (without --redis-url it says `off`). */
    sharedStore: SharedStoreStatus | undefined;
  }
}

export const NO_SHARED_STORE: SharedStoreStatus = {
  readiness: () => ({ state: 'off' }),
  metrics: () => undefined,
};

export interface SharedStateOptions {
  url: string;
  keyRing: KeyRing;
  /** This gateway's keys file; without one it takes no part in sharing keys. */
  keysFile: string | undefined;
  catalog: ModelCatalog;
  keySpend: KeySpend;
  log: Log;
  /** The wall clock of budget periods (tests). */
  now?: () => number;
}

export interface SharedState extends SharedStoreStatus {
  limiter: RedisRateLimiter;
  spend: RedisSpend;
  recentUse: RedisRecentUse;
  /** Admin sign-outs, for the admin page's sessions. */
  signOuts: RedisSignOuts;
  close(): Promise<void>;
}

export function startSharedState(options: SharedStateOptions): SharedState {
  const redis = new RedisConnection(options.url, options.log, options.now);
  const limiter = new RedisRateLimiter(redis, new RateLimiter());
  const spend = new RedisSpend(redis, options.keySpend, options.now);
  const recentUse = new RedisRecentUse(redis, options.catalog);
  if (options.keysFile !== undefined && options.keyRing.hasKeysFile) new RedisKeySync(redis, options.keyRing, options.keysFile, options.log);
  const signOuts = new RedisSignOuts(redis);
  return {
    limiter,
    spend,
    recentUse,
    signOuts,
    readiness: () => ({ state: redis.state }),
    metrics: () => ({ up: redis.ready, fallbacks: redis.fallbacks() }),
    close: () => redis.close(),
  };
}

/** What of a Redis URL must never reach a log: the URL itself when it holds a password, and the password. */
export function redisUrlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const { password } = new URL(url);
    return password === '' ? [] : [url, password, decodeURIComponent(password)];
  } catch {
    return [url];
  }
}
