/**
 * The model catalog: every backend's models, filtered by the models filter, indexed by Ollama
 * name. Each backend's list is kept on its own: a backend that fails keeps its last good list
 * (or contributes nothing until it first answers) while the others are served, and it is
 * retried on its own schedule: after the TTL while it answers, with exponential backoff and
 * jitter while it fails. Requests never refresh a backend before its time. Until some backend
 * has answered, requests are told why they cannot be served.
 *
 * Readers get an immutable snapshot; anything derived from it (the /api/tags body) is
 * memoised per snapshot by its consumer.
 */
import type { Log } from './log.js';
import type { BackendAdapter } from './backend-adapter.js';
import { GatewayError } from '../errors.js';
import { checkCatalogConfig } from './catalog-config-check.js';
import { allowAllModels, type ModelFilter } from './model-filter.js';
import { listedName, lookupKey, shortKey } from './model-names.js';
import { emptyModelsConfig, type ModelDefaults, type ModelRouting, type ModelsConfig } from './models-config.js';
import type { ModelInfo, ModelPrice } from './types.js';

export interface CatalogEntry {
  /** The name it is listed under (`openai/gpt-4o:latest`, or an alias such as `coder:latest`). */
  name: string;
  /** The backend's model; for an alias, its target's. */
  info: ModelInfo;
  adapter: BackendAdapter;
  /** Per-model overrides from the models config. */
  defaults?: ModelDefaults;
  /** The price the models config gives it (else the backend's, `info.price`). */
  price?: ModelPrice;
  /** Set on alias entries: the alias as configured. */
  alias?: string;
  /** Its fallbacks, retries and OpenRouter provider routing (the models config's). */
  routing?: ModelRouting;
}

export interface CatalogSnapshot {
  readonly entries: readonly CatalogEntry[];
  readonly byKey: ReadonlyMap<string, CatalogEntry>;
  readonly byShortKey: ReadonlyMap<string, readonly CatalogEntry[]>;
  /** Milliseconds since epoch of the latest successful upstream fetch. */
  readonly fetchedAt: number;
}

export interface ModelCatalogOptions {
  adapters: BackendAdapter[];
  ttlSeconds: number;
  log: Log;
  now?: () => number;
  /** First retry delay after a failure, doubled on each further failure up to the TTL (default 1 s). */
  retryBaseMs?: number;
  /** In [0, 1): the jitter of retry delays (tests pin it). */
  random?: () => number;
  /** Longest one backend's listing may take before it counts as failed (default 60 s). */
  fetchTimeoutMs?: number;
}

export interface RecentUse {
  entry: CatalogEntry;
  lastUsedAt: number;
  keepAliveMs: number;
}

/** One use of a model by its listed name, as /api/ps counts it. */
export interface ModelUse {
  model: string;
  lastUsedAt: number;
  keepAliveMs: number;
  keyId: string | undefined;
}

/** `pending`: has not answered yet; `up`: its last fetch succeeded; `failing`: its last fetch failed. */
export type BackendState = 'pending' | 'up' | 'failing';

/** One backend's catalog health, for readiness checks. */
export interface BackendStatus {
  name: string;
  state: BackendState;
  /** Why the last fetch failed (undefined once it answers again). */
  lastError: string | undefined;
  /** Milliseconds since epoch of its last successful fetch. */
  lastSuccessAt: number | undefined;
  /** How many models its last good list holds (0 before it first answers). */
  models: number;
}

const DEFAULT_RETRY_BASE_MS = 1_000;
const DEFAULT_FETCH_TIMEOUT_MS = 60_000;
/** A retry delay is cut by up to this fraction, at random, so restarts do not retry in step. */
const RETRY_JITTER = 0.5;

/** One backend's own list and schedule. */
interface Backend {
  readonly adapter: BackendAdapter;
  state: BackendState;
  /** The last good list; undefined until the backend first answers. */
  models: ModelInfo[] | undefined;
  lastSuccessAt: number | undefined;
  lastError: GatewayError | undefined;
  /** Failed fetches in a row. */
  failures: number;
  /** When the next fetch is due (a request or the timer may start it after this). */
  dueAt: number;
  fetching: Promise<void> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class ModelCatalog {
  private readonly backends: Backend[];
  private readonly ttlMs: number;
  private readonly log: Log;
  private readonly now: () => number;
  private readonly retryBaseMs: number;
  private readonly random: () => number;
  private readonly fetchTimeoutMs: number;
  private filter: ModelFilter = allowAllModels;
  private modelsConfig: ModelsConfig = emptyModelsConfig;
  private current: CatalogSnapshot | undefined;
  /** The earliest `dueAt` of any backend: until then the snapshot is fresh. */
  private nextDueAt = Number.NEGATIVE_INFINITY;
  /** Set by start(): each backend's next fetch then runs on a timer, not only on demand. */
  private started = false;
  private stopping = new AbortController();
  /** Recent uses for /api/ps, one per key and model, oldest first. */
  private readonly recent = new Map<string, RecentUse & { keyId: string | undefined }>();
  private readonly useListeners: Array<(use: ModelUse) => void> = [];
  private reportedCollisions = '';
  /** The files the filter and the models config came from, for warnings. */
  private filterPath: string | undefined;
  private modelsConfigPath: string | undefined;
  /** Each file's problems last logged; undefined after its reload, so that they are said again. */
  private readonly reportedProblems: { filter: string | undefined; modelsConfig: string | undefined } = { filter: undefined, modelsConfig: undefined };
  /** Names a client asked for that the models filter hides, logged once per filter. */
  private readonly reportedHidden = new Set<string>();

  constructor(options: ModelCatalogOptions) {
    this.ttlMs = options.ttlSeconds * 1000;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.retryBaseMs = options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS;
    this.random = options.random ?? Math.random;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.backends = options.adapters.map((adapter) => ({
      adapter,
      state: 'pending',
      models: undefined,
      lastSuccessAt: undefined,
      lastError: undefined,
      failures: 0,
      dueAt: Number.NEGATIVE_INFINITY,
      fetching: undefined,
      timer: undefined,
    }));
  }

  /** Fetches every backend's first list and keeps each fresh on its own timer. Never throws: failures are logged and retried. */
  start(): Promise<void> {
    this.started = true;
    if (this.stopping.signal.aborted) this.stopping = new AbortController();
    return this.refresh();
  }

  stop(): void {
    this.started = false;
    this.stopping.abort();
    for (const backend of this.backends) {
      if (backend.timer !== undefined) clearTimeout(backend.timer);
      backend.timer = undefined;
    }
  }

  /**
   * Re-fetches now every backend that is not waiting out a failure's backoff (start-up, after
   * a model was pulled or deleted); a failing backend is fetched only once its retry is due.
   */
  refresh(): Promise<void> {
    const now = this.now();
    const fetches = this.backends.filter((backend) => backend.state !== 'failing' || now > backend.dueAt).map((backend) => this.fetch(backend));
    return Promise.all(fetches).then(() => undefined);
  }

  /** A new filter (`path`: its file, named in warnings); what in it matches no model is logged once. */
  setFilter(filter: ModelFilter, path?: string): void {
    this.filter = filter;
    this.filterPath = path;
    this.reportedHidden.clear();
    this.reportedProblems.filter = undefined;
    this.rebuild();
  }

  /** A new models config (`path`: its file); overrides and aliases that name no model are logged once. */
  setModelsConfig(config: ModelsConfig, path?: string): void {
    this.modelsConfig = config;
    this.modelsConfigPath = path;
    this.reportedProblems.modelsConfig = undefined;
    this.rebuild();
  }

  /**
   * The current snapshot. Starts the fetches that are due (never a failing backend's before
   * its retry time); waits only while no backend has answered yet.
   */
  async snapshot(): Promise<CatalogSnapshot> {
    if (this.now() > this.nextDueAt) this.fetchDue();
    if (this.current === undefined) await this.firstAnswer();
    if (this.current === undefined) throw this.unavailable();
    return this.current;
  }

  /** The current snapshot if no backend is due for a fetch (undefined otherwise): for answers that must not wait. */
  freshSnapshot(): CatalogSnapshot | undefined {
    return this.now() <= this.nextDueAt ? this.current : undefined;
  }

  /** Each backend's catalog health, in order of preference. */
  backendStates(): BackendStatus[] {
    return this.backends.map((backend) => ({
      name: backend.adapter.name,
      state: backend.state,
      lastError: backend.lastError?.message,
      lastSuccessAt: backend.lastSuccessAt,
      models: backend.models?.length ?? 0,
    }));
  }

  /** Every model the backends list, the ones the models filter hides included, in order of preference. */
  backendModels(): ModelInfo[] {
    return this.backends.flatMap((backend) => backend.models ?? []);
  }

  /** The models filter in force. */
  get modelFilter(): ModelFilter {
    return this.filter;
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
    this.reportHidden(name, key);
    throw new GatewayError('MODEL_NOT_FOUND', `model '${name}' not found`);
  }

  /**
   * What `resolve` would find in the current snapshot (exact name, or the one model with that
   * short name), without fetching or throwing: undefined when nothing or several match.
   */
  find(name: string): CatalogEntry | undefined {
    const snapshot = this.current;
    if (snapshot === undefined) return undefined;
    const key = lookupKey(name);
    const candidates = snapshot.byShortKey.get(key);
    return snapshot.byKey.get(key) ?? (candidates?.length === 1 ? candidates[0] : undefined);
  }

  /**
   * A client asked for a model the models filter hides: the client keeps Ollama's "not
   * found", and the log says why (once per name until the filter changes), naming the line
   * that excluded it.
   */
  private reportHidden(name: string, key: string): void {
    if (this.filter.rules.length === 0 || this.reportedHidden.has(key)) return;
    const alias = this.modelsConfig.aliases.get(key);
    const hidden = this.hiddenModel(key) ?? (alias === undefined ? undefined : this.hiddenModel(lookupKey(alias.target)));
    if (hidden === undefined) return;
    this.reportedHidden.add(key);
    const id = hidden.id.toLowerCase().replace(/:latest$/, '');
    const rule = this.filter.rules.findLast((candidate) => candidate.matches(id));
    const why = rule === undefined
      ? `no line of it lists ${hidden.id}, and a filter with entries serves only what they list`
      : `line ${rule.line} (${rule.negated ? '!' : ''}${rule.pattern}) excludes ${hidden.id}`;
    this.log.info({ model: name, id: hidden.id, backend: hidden.backend, filterLine: rule?.line }, `model '${name}' was asked for but the models filter hides it: ${why}`);
  }

  /** The backend model the filter keeps out under this lookup key (its full or short name), if any. */
  private hiddenModel(key: string): ModelInfo | undefined {
    for (const backend of this.backends) {
      for (const info of backend.models ?? []) {
        const listed = lookupKey(listedName(info.id));
        if ((listed === key || shortKey(listed) === key) && !this.filter.allows(info.id)) return info;
      }
    }
    return undefined;
  }

  /** Records a use for /api/ps, under the client key that made it (undefined on an open gateway). */
  markUsed(entry: CatalogEntry, keepAliveMs: number, keyId?: string): void {
    const lastUsedAt = this.now();
    this.noteUse(entry, lastUsedAt, keepAliveMs, keyId);
    for (const listener of this.useListeners) listener({ model: entry.name, lastUsedAt, keepAliveMs, keyId });
  }

  /** Records a use made at a given time (another gateway's, shared through Redis); listeners are not told. */
  noteUse(entry: CatalogEntry, lastUsedAt: number, keepAliveMs: number, keyId?: string): void {
    const id = `${keyId ?? ''}\n${entry.name}`;
    const known = this.recent.get(id);
    if (known !== undefined && known.lastUsedAt > lastUsedAt) return;
    this.recent.delete(id);
    this.recent.set(id, { entry, lastUsedAt, keepAliveMs, keyId });
  }

  /** Called on each use marked here (shared-state/redis-recent-use.ts shares them). */
  onUse(listener: (use: ModelUse) => void): void {
    this.useListeners.push(listener);
  }

  /**
   * Models used within their keep-alive window, most recent first. With a key id, only the
   * uses made with that key; without one (an open gateway), every use, once per model.
   */
  recentlyUsed(keyId?: string): RecentUse[] {
    const now = this.now();
    const byModel = new Map<string, RecentUse>();
    for (const [id, use] of this.recent) {
      if (use.keepAliveMs >= 0 && use.lastUsedAt + use.keepAliveMs < now) {
        this.recent.delete(id);
        continue;
      }
      if (keyId !== undefined && use.keyId !== keyId) continue;
      if (!this.current?.byKey.has(lookupKey(use.entry.name))) continue;
      // Oldest first: a later use of the same model replaces an earlier one (another gateway's may be older).
      if ((byModel.get(use.entry.name)?.lastUsedAt ?? Number.NEGATIVE_INFINITY) > use.lastUsedAt) continue;
      byModel.delete(use.entry.name);
      byModel.set(use.entry.name, { entry: use.entry, lastUsedAt: use.lastUsedAt, keepAliveMs: use.keepAliveMs });
    }
    return [...byModel.values()].reverse().sort((left, right) => right.lastUsedAt - left.lastUsedAt);
  }

  /** Starts the fetch of every backend whose time has come. */
  private fetchDue(): void {
    const now = this.now();
    for (const backend of this.backends) if (now > backend.dueAt) void this.fetch(backend);
  }

  /** Resolves once some backend has answered, or no fetch is under way. */
  private async firstAnswer(): Promise<void> {
    const running = this.backends.flatMap((backend) => (backend.fetching === undefined ? [] : [backend.fetching]));
    if (running.length === 0) return;
    await new Promise<void>((resolve) => {
      let left = running.length;
      for (const fetching of running) {
        void fetching.then(() => {
          left--;
          if (this.current !== undefined || left === 0) resolve();
        });
      }
    });
  }

  private unavailable(): GatewayError {
    const reasons = this.backends.flatMap((backend) => (backend.lastError === undefined ? [] : [backend.lastError.message]));
    const retryAt = Math.min(...this.backends.map((backend) => backend.dueAt));
    const retryAfter = Number.isFinite(retryAt) ? String(Math.max(1, Math.ceil((retryAt - this.now()) / 1000))) : undefined;
    // A wrong setting will not mend itself: no "try again" then.
    const misconfigured = this.backends.every((backend) => backend.lastError?.code === 'CONFIG_INVALID');
    return new GatewayError(
      'CATALOG_UNAVAILABLE',
      `the model catalog is not available yet (${reasons.length === 0 ? 'no answer yet' : reasons.join('; ')})${misconfigured ? '' : '; try again shortly'}`,
      retryAfter === undefined ? {} : { retryAfter },
    );
  }

  /** One fetch of one backend's list at a time; records the outcome and schedules the next. */
  private fetch(backend: Backend): Promise<void> {
    backend.fetching ??= this.listModels(backend).then(
      (models) => this.succeeded(backend, models),
      (error: unknown) => this.failed(backend, error),
    ).finally(() => {
      backend.fetching = undefined;
      this.schedule(backend);
    });
    return backend.fetching;
  }

  private async listModels(backend: Backend): Promise<ModelInfo[]> {
    const deadline = AbortSignal.timeout(this.fetchTimeoutMs);
    try {
      return await backend.adapter.listModels(AbortSignal.any([this.stopping.signal, deadline]));
    } catch (error) {
      if (deadline.aborted) throw new GatewayError('UPSTREAM_TIMEOUT', `${backend.adapter.name} did not list its models within ${this.fetchTimeoutMs / 1000} s`, { cause: error });
      throw error;
    }
  }

  private succeeded(backend: Backend, models: ModelInfo[]): void {
    const now = this.now();
    const previous = backend.state;
    if (previous === 'failing') {
      this.log.info({ backend: backend.adapter.name, models: models.length }, `${backend.adapter.name} answers again: serving its ${models.length} models`);
    }
    backend.state = 'up';
    backend.models = models;
    backend.lastSuccessAt = now;
    backend.lastError = undefined;
    backend.failures = 0;
    backend.dueAt = now + this.ttlMs;
    this.rebuild();
  }

  private failed(backend: Backend, error: unknown): void {
    const now = this.now();
    const failure = error instanceof GatewayError ? error : new GatewayError('UPSTREAM_UNAVAILABLE', String(error));
    const previous = backend.state;
    backend.state = 'failing';
    backend.lastError = failure;
    // The last backend to answer failed: what the configuration names can be judged now.
    if (previous === 'pending') this.reportConfigProblems();
    backend.failures++;
    const delay = this.retryDelay(backend.failures);
    backend.dueAt = now + delay;
    const details = { backend: backend.adapter.name, err: { message: failure.message, code: failure.code }, retryInMs: Math.round(delay) };
    if (this.stopping.signal.aborted) return;
    if (previous === 'failing') {
      this.log.debug({ ...details, failures: backend.failures }, `${backend.adapter.name}'s model list is still failing`);
    } else if (backend.models !== undefined) {
      this.log.warn(details, `could not refresh ${backend.adapter.name}'s model list; serving its last good list and retrying with backoff`);
    } else {
      const others = this.backends.length > 1 ? 'the other backends are served meanwhile; ' : '';
      const level = failure.code === 'CONFIG_INVALID' ? 'error' : 'warn';
      this.log[level](details, `could not fetch ${backend.adapter.name}'s model list; ${others}retrying with backoff`);
    }
  }

  /** 1 s, 2 s, 4 s … up to the TTL, each cut by up to half at random. */
  private retryDelay(failures: number): number {
    const base = Math.min(this.ttlMs, this.retryBaseMs * 2 ** Math.min(failures - 1, 30));
    return base * (1 - RETRY_JITTER * this.random());
  }

  /** Recomputes when the snapshot goes stale, and (once started) sets the backend's timer. */
  private schedule(backend: Backend): void {
    this.nextDueAt = Math.min(...this.backends.map((candidate) => candidate.dueAt));
    if (backend.timer !== undefined) clearTimeout(backend.timer);
    backend.timer = undefined;
    if (!this.started) return;
    backend.timer = setTimeout(() => {
      backend.timer = undefined;
      void this.fetch(backend);
    }, Math.max(0, backend.dueAt - this.now()));
    backend.timer.unref();
  }

  private rebuild(): void {
    const answered = this.backends.filter((backend) => backend.models !== undefined);
    if (answered.length === 0) return;
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
    const { defaults, prices, aliases } = this.modelsConfig;
    const routingOf = (key: string): ModelRouting | undefined => withDefaultProvider(this.modelsConfig, this.modelsConfig.routing.get(key) ?? this.modelsConfig.routing.get(shortKey(key)));
    const collisions: string[] = [];
    // Backends are ordered by preference (PREFER_BACKEND): the first one keeps a name both have.
    for (const { adapter, models } of answered) {
      for (const info of models!) {
        if (!this.filter.allows(info.id)) continue;
        const name = listedName(info.id);
        const key = lookupKey(name);
        const earlier = byKey.get(key);
        if (earlier !== undefined) {
          if (earlier.adapter !== adapter) collisions.push(`${name} (${earlier.adapter.name} over ${adapter.name})`);
          continue;
        }
        const entry: CatalogEntry = { name, info, adapter };
        const modelDefaults = defaults.get(key) ?? defaults.get(shortKey(key));
        if (modelDefaults !== undefined) entry.defaults = modelDefaults;
        const price = prices.get(key) ?? prices.get(shortKey(key));
        if (price !== undefined) entry.price = price;
        const routing = routingOf(key);
        if (routing !== undefined) entry.routing = routing;
        add(entry);
      }
    }
    for (const [aliasKey, { alias, target }] of aliases) {
      // A name a model has, or a target not served: not listed (reportConfigProblems says why).
      if (byKey.has(aliasKey)) continue;
      const targetKey = lookupKey(target);
      const shortMatches = byShortKey.get(targetKey);
      const targetEntry = byKey.get(targetKey) ?? (shortMatches?.length === 1 ? shortMatches[0] : undefined);
      if (targetEntry === undefined) continue;
      const entry: CatalogEntry = { name: listedName(alias), info: targetEntry.info, adapter: targetEntry.adapter, alias };
      const aliasDefaults = defaults.get(aliasKey) ?? targetEntry.defaults;
      if (aliasDefaults !== undefined) entry.defaults = aliasDefaults;
      const aliasPrice = prices.get(aliasKey) ?? targetEntry.price;
      if (aliasPrice !== undefined) entry.price = aliasPrice;
      const aliasRouting = this.modelsConfig.routing.has(aliasKey) ? routingOf(aliasKey) : targetEntry.routing;
      if (aliasRouting !== undefined) entry.routing = aliasRouting;
      add(entry);
    }
    const collisionReport = collisions.join(', ');
    if (collisionReport !== '' && collisionReport !== this.reportedCollisions) {
      this.log.warn({ models: collisions }, `models both backends serve, resolved by the preferred backend: ${collisionReport}`);
    }
    this.reportedCollisions = collisionReport;
    const previousCount = this.current?.entries.length;
    const fetchedAt = Math.max(...answered.map((backend) => backend.lastSuccessAt ?? 0));
    this.current = { entries, byKey, byShortKey, fetchedAt };
    if (previousCount !== entries.length) {
      // Nothing served through a filter is one of the configuration problems below.
      if (entries.length > 0) this.log.info({ models: entries.length }, `serving ${entries.length} models`);
      else if (this.filter.rules.length === 0) this.log.warn({ models: 0 }, 'serving 0 models: the backends list none');
    }
    this.reportConfigProblems();
  }

  /**
   * Logs (warn) what the filter and the models config name that the backends do not list,
   * once per reload and again only when the catalog changes the answer; never while a
   * backend has not answered at all yet.
   */
  private reportConfigProblems(): void {
    const snapshot = this.current;
    if (snapshot === undefined || this.backends.some((backend) => backend.state === 'pending')) return;
    const problems = checkCatalogConfig({
      ids: this.backends.flatMap((backend) => (backend.models ?? []).map((info) => info.id)),
      served: snapshot.byKey,
      servedShort: snapshot.byShortKey,
      filter: this.filter,
      filterPath: this.filterPath,
      modelsConfig: this.modelsConfig,
      modelsConfigPath: this.modelsConfigPath,
      unlisted: this.backends.filter((backend) => backend.models === undefined).map((backend) => backend.adapter.name),
    });
    for (const file of ['filter', 'modelsConfig'] as const) {
      const report = problems[file].map((problem) => problem.message).join('\n');
      if (report === this.reportedProblems[file]) continue;
      this.reportedProblems[file] = report;
      for (const problem of problems[file]) this.log.warn(problem.details, problem.message);
    }
  }
}

/** A model's routing with the file's default `provider` under its own (its own fields win). */
function withDefaultProvider(config: ModelsConfig, routing: ModelRouting | undefined): ModelRouting | undefined {
  if (config.provider === undefined) return routing;
  if (routing === undefined) return { fallbacks: [], retries: 0, provider: config.provider };
  return { ...routing, provider: { ...config.provider, ...routing.provider } };
}
