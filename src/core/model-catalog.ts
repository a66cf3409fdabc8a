/**
 * The model catalog: every backend's models, cached with a TTL and refreshed in the
 * background, filtered by the models filter, indexed by Ollama name. A failed refresh keeps
 * serving the last good catalog; until a first catalog arrives, requests are told why they
 * cannot be served.
 *
 * Readers get an immutable snapshot; anything derived from it (the /api/tags body) is
 * memoised per snapshot by its consumer.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { BackendAdapter } from '../adapters/adapter.js';
import { GatewayError } from '../errors.js';
import { allowAllModels, type ModelFilter } from './model-filter.js';
import { listedName, lookupKey, shortKey } from './model-names.js';
import { emptyModelsConfig, type ModelDefaults, type ModelsConfig } from './models-config.js';
import type { ModelInfo } from './types.js';

export interface CatalogEntry {
  /** The name it is listed under (`openai/gpt-4o:latest`, or an alias such as `coder:latest`). */
  name: string;
  /** The backend's model; for an alias, its target's. */
  info: ModelInfo;
  adapter: BackendAdapter;
  /** Per-model overrides from the models config. */
  defaults?: ModelDefaults;
  /** Set on alias entries: the alias as configured. */
  alias?: string;
}

export interface CatalogSnapshot {
  readonly entries: readonly CatalogEntry[];
  readonly byKey: ReadonlyMap<string, CatalogEntry>;
  readonly byShortKey: ReadonlyMap<string, readonly CatalogEntry[]>;
  /** Milliseconds since epoch of the upstream fetch. */
  readonly fetchedAt: number;
}

export interface ModelCatalogOptions {
  adapters: BackendAdapter[];
  ttlSeconds: number;
  log: FastifyBaseLogger;
  now?: () => number;
}

export interface RecentUse {
  entry: CatalogEntry;
  lastUsedAt: number;
  keepAliveMs: number;
}

export class ModelCatalog {
  private readonly adapters: BackendAdapter[];
  private readonly ttlMs: number;
  private readonly log: FastifyBaseLogger;
  private readonly now: () => number;
  private fetched: { models: Array<{ info: ModelInfo; adapter: BackendAdapter }>; fetchedAt: number } | undefined;
  private filter: ModelFilter = allowAllModels;
  private modelsConfig: ModelsConfig = emptyModelsConfig;
  private current: CatalogSnapshot | undefined;
  private refreshing: Promise<void> | undefined;
  private lastError: GatewayError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly recent = new Map<string, RecentUse>();
  private reportedCollisions = '';

  constructor(options: ModelCatalogOptions) {
    this.adapters = options.adapters;
    this.ttlMs = options.ttlSeconds * 1000;
    this.log = options.log;
    this.now = options.now ?? Date.now;
  }

  /** Fetches the first catalog and keeps it fresh. Never throws: failures are logged and retried. */
  start(): Promise<void> {
    const first = this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.ttlMs);
    this.timer.unref();
    return first;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-fetches every backend's models; on failure keeps the last good catalog. */
  refresh(): Promise<void> {
    this.refreshing ??= this.fetchAll().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  setFilter(filter: ModelFilter): void {
    this.filter = filter;
    this.rebuild();
  }

  setModelsConfig(config: ModelsConfig): void {
    this.modelsConfig = config;
    this.rebuild();
  }

  /** The current snapshot, fetching the first catalog if there is none yet. */
  async snapshot(): Promise<CatalogSnapshot> {
    if (this.current === undefined) await this.refresh();
    if (this.current === undefined) {
      const reason = this.lastError?.message ?? 'no answer yet';
      throw new GatewayError('CATALOG_UNAVAILABLE', `the model catalog is not available yet (${reason}); try again shortly`);
    }
    if (this.now() - this.current.fetchedAt > this.ttlMs) void this.refresh();
    return this.current;
  }

  /** The current snapshot if it needs no refresh (undefined otherwise): for answers that must not wait. */
  freshSnapshot(): CatalogSnapshot | undefined {
    const current = this.current;
    return current !== undefined && this.now() - current.fetchedAt <= this.ttlMs ? current : undefined;
  }

  /**
   * Finds a model by the name a client sent: exact name (`:latest` implied, any case), then
   * a short name that exactly one model has. Unknown → 404 in Ollama's words.
   */
  async resolve(name: string): Promise<CatalogEntry> {
    const snapshot = await this.snapshot();
    const key = lookupKey(name);
    const exact = snapshot.byKey.get(key);
    if (exact !== undefined) return exact;
    const candidates = snapshot.byShortKey.get(key) ?? [];
    if (candidates.length === 1) return candidates[0]!;
    if (candidates.length > 1) {
      const names = candidates.map((entry) => entry.name).join(', ');
      throw new GatewayError('MODEL_NOT_FOUND', `model '${name}' is ambiguous; use one of: ${names}`);
    }
    throw new GatewayError('MODEL_NOT_FOUND', `model '${name}' not found`);
  }

  /** Records a use for /api/ps. */
  markUsed(entry: CatalogEntry, keepAliveMs: number): void {
    this.recent.delete(entry.name);
    this.recent.set(entry.name, { entry, lastUsedAt: this.now(), keepAliveMs });
  }

  /** Models used within their keep-alive window, most recent first. */
  recentlyUsed(): RecentUse[] {
    const now = this.now();
    const result: RecentUse[] = [];
    for (const [name, use] of this.recent) {
      if (use.keepAliveMs >= 0 && use.lastUsedAt + use.keepAliveMs < now) this.recent.delete(name);
      else if (this.current?.byKey.has(lookupKey(name))) result.push(use);
    }
    return result.reverse();
  }

  private async fetchAll(): Promise<void> {
    try {
      const lists = await Promise.all(
        this.adapters.map(async (adapter) => (await adapter.listModels()).map((info) => ({ info, adapter }))),
      );
      this.fetched = { models: lists.flat(), fetchedAt: this.now() };
      this.lastError = undefined;
      this.rebuild();
    } catch (error) {
      this.lastError = error instanceof GatewayError ? error : new GatewayError('UPSTREAM_UNAVAILABLE', String(error));
      this.log.warn({ err: { message: this.lastError.message, code: this.lastError.code } },
        this.current === undefined ? 'could not fetch the model catalog; will retry' : 'catalog refresh failed; serving the last good catalog');
      if (this.current === undefined) this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    const retry = setTimeout(() => void this.refresh(), Math.min(this.ttlMs, 15_000));
    retry.unref();
  }

  private rebuild(): void {
    if (this.fetched === undefined) return;
    const entries: CatalogEntry[] = [];
    const byKey = new Map<string, CatalogEntry>();
    const byShortKey = new Map<string, CatalogEntry[]>();
    const add = (entry: CatalogEntry): void => {
      const key = lookupKey(entry.name);
      entries.push(entry);
      byKey.set(key, entry);
      const short = shortKey(key);
      if (short === key) return;
      const list = byShortKey.get(short);
      if (list === undefined) byShortKey.set(short, [entry]);
      else list.push(entry);
    };
    const { defaults, aliases } = this.modelsConfig;
    const collisions: string[] = [];
    for (const { info, adapter } of this.fetched.models) {
      if (!this.filter.allows(info.id)) continue;
      const name = listedName(info.id);
      const key = lookupKey(name);
      const earlier = byKey.get(key);
      if (earlier !== undefined) {
        // Backends are ordered by preference (PREFER_BACKEND): the first one keeps the name.
        if (earlier.adapter !== adapter) collisions.push(`${name} (${earlier.adapter.name} over ${adapter.name})`);
        continue;
      }
      const entry: CatalogEntry = { name, info, adapter };
      const modelDefaults = defaults.get(key) ?? defaults.get(shortKey(key));
      if (modelDefaults !== undefined) entry.defaults = modelDefaults;
      add(entry);
    }
    for (const [aliasKey, { alias, target }] of aliases) {
      if (byKey.has(aliasKey)) {
        this.log.warn({ alias }, `alias "${alias}" is also a model's name; the model wins`);
        continue;
      }
      const targetKey = lookupKey(target);
      const shortMatches = byShortKey.get(targetKey);
      const targetEntry = byKey.get(targetKey) ?? (shortMatches?.length === 1 ? shortMatches[0] : undefined);
      if (targetEntry === undefined) {
        this.log.warn({ alias, target }, `alias "${alias}" names no served model ("${target}"); not listed`);
        continue;
      }
      const entry: CatalogEntry = { name: listedName(alias), info: targetEntry.info, adapter: targetEntry.adapter, alias };
      const aliasDefaults = defaults.get(aliasKey) ?? targetEntry.defaults;
      if (aliasDefaults !== undefined) entry.defaults = aliasDefaults;
      add(entry);
    }
    const collisionReport = collisions.join(', ');
    if (collisionReport !== '' && collisionReport !== this.reportedCollisions) {
      this.log.warn({ models: collisions }, `models both backends serve, resolved by the preferred backend: ${collisionReport}`);
    }
    this.reportedCollisions = collisionReport;
    const previousCount = this.current?.entries.length;
    this.current = { entries, byKey, byShortKey, fetchedAt: this.fetched.fetchedAt };
    if (previousCount !== entries.length) this.log.info({ models: entries.length }, `serving ${entries.length} models`);
  }
}
