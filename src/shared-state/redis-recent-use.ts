/**
 * `/api/ps` shared by every gateway on one Redis: each use of a model is written to a Redis
 * hash (field: key id and model; value: when and its keep-alive), and before `/api/ps` answers,
 * the hash is read into this gateway's catalog. Fields past their keep-alive are deleted as
 * they are read; the hash itself expires a day after its last write. While Redis does not
 * answer, `/api/ps` shows this gateway's own uses.
 */
import type { ModelCatalog, ModelUse } from '../core/model-catalog.js';
import type { RedisConnection } from './redis-connection.js';

const HASH = 'ollama-bridge:recent-use';
const HASH_TTL_SECONDS = 86_400;

interface StoredUse {
  lastUsedAt: number;
  keepAliveMs: number;
}

export class RedisRecentUse {
  constructor(private readonly redis: RedisConnection, private readonly catalog: ModelCatalog, private readonly now: () => number = Date.now) {
    catalog.onUse((use) => this.write(use));
  }

  private write(use: ModelUse): void {
    if (!this.redis.ready) {
      this.redis.countFallback('recent_use');
      return;
    }
    const value: StoredUse = { lastUsedAt: use.lastUsedAt, keepAliveMs: use.keepAliveMs };
    this.redis.client.multi().hset(HASH, fieldOf(use.keyId, use.model), JSON.stringify(value)).expire(HASH, HASH_TTL_SECONDS).exec().then(
      () => this.redis.answered(),
      () => this.redis.countFallback('recent_use'),
    );
  }

  /** Reads every gateway's recent uses into the catalog (before /api/ps answers). */
  async load(): Promise<void> {
    if (!this.redis.ready) {
      this.redis.countFallback('recent_use');
      return;
    }
    let stored: Record<string, string>;
    try {
      stored = await this.redis.client.hgetall(HASH);
    } catch {
      this.redis.countFallback('recent_use');
      return;
    }
    this.redis.answered();
    const now = this.now();
    const expired: string[] = [];
    for (const [field, text] of Object.entries(stored)) {
      const newline = field.indexOf('\n');
      let use: StoredUse;
      try {
        use = JSON.parse(text) as StoredUse;
      } catch {
        expired.push(field);
        continue;
      }
      if (newline === -1 || typeof use.lastUsedAt !== 'number' || typeof use.keepAliveMs !== 'number' || (use.keepAliveMs >= 0 && use.lastUsedAt + use.keepAliveMs < now)) {
        expired.push(field);
        continue;
      }
      const entry = this.catalog.find(field.slice(newline + 1));
      if (entry === undefined) continue;
      const keyId = field.slice(0, newline);
      this.catalog.noteUse(entry, use.lastUsedAt, use.keepAliveMs, keyId === '' ? undefined : keyId);
    }
    if (expired.length > 0) this.redis.client.hdel(HASH, ...expired).catch(() => undefined);
  }
}

function fieldOf(keyId: string | undefined, model: string): string {
  return `${keyId ?? ''}\n${model}`;
}
