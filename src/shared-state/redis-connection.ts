/**
 * The gateway's connection to a shared Redis (`--redis-url`): one client for commands, one for
 * pub/sub. Every command has a timeout and nothing is queued while the connection is down
 * (`enableOfflineQueue: false`), so a request never waits on Redis longer than
 * COMMAND_TIMEOUT_MS: a failed command is the caller's cue to fall back to local state.
 * The client reconnects on its own (backoff up to 2 s); `onReady` listeners run on every
 * (re)connection so the users can re-read what they missed.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Log } from '../core/log.js';

export type RedisState = 'connecting' | 'ready' | 'down';

/** The longest any Redis command may take before the caller falls back. */
export const COMMAND_TIMEOUT_MS = 300;
const CONNECT_TIMEOUT_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/** What a fallback was for: the label of `ollama_bridge_shared_store_fallbacks_total`. */
export type FallbackKind = 'rate_limit' | 'budget' | 'keys' | 'recent_use';

export class RedisConnection {
  readonly client: Redis;
  readonly subscriber: Redis;
  private currentState: RedisState = 'connecting';
  /** When Redis last answered (Unix ms), or when the connection was made, for the budgets' grace period. */
  private lastUpAt: number;
  private readonly readyListeners: Array<() => void> = [];
  private readonly fallbackCounts = new Map<FallbackKind, number>();
  private reportedDown = false;
  private closing = false;

  constructor(url: string, private readonly log: Log, private readonly now: () => number = Date.now) {
    this.lastUpAt = now();
    const options: RedisOptions = {
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (attempts) => Math.min(attempts * 200, MAX_RECONNECT_DELAY_MS),
      // A reply-less READY check would hold commands back: the server answers PING at once.
      enableReadyCheck: true,
      lazyConnect: false,
    };
    this.client = new Redis(url, { ...options, connectionName: 'ollama-bridge' });
    // Its users subscribe on each of its ready events (redis-key-sync.ts): nothing is queued while it is down.
    this.subscriber = new Redis(url, { ...options, connectionName: 'ollama-bridge-subscriber', autoResubscribe: false });
    this.client.on('ready', () => {
      this.currentState = 'ready';
      this.lastUpAt = this.now();
      if (this.reportedDown) log.info({}, 'redis: connected again; shared limits, budgets and keys resume');
      this.reportedDown = false;
      for (const listener of this.readyListeners) listener();
    });
    this.client.on('error', (error: Error) => this.markDown(error.message));
    this.client.on('close', () => this.markDown('connection closed'));
    this.subscriber.on('error', () => undefined);
  }

  get state(): RedisState {
    return this.currentState;
  }

  get ready(): boolean {
    return this.currentState === 'ready' && this.client.status === 'ready';
  }

  /** Milliseconds since Redis last answered a command (0 while it does). */
  downForMs(): number {
    return this.ready ? 0 : Math.max(0, this.now() - this.lastUpAt);
  }

  /** Notes that a command answered (keeps the grace period's clock). */
  answered(): void {
    this.lastUpAt = this.now();
  }

  /** Runs on every connection and reconnection. */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
    if (this.ready) listener();
  }

  /** Counts one use of local state where Redis was meant to answer. */
  countFallback(kind: FallbackKind): void {
    this.fallbackCounts.set(kind, (this.fallbackCounts.get(kind) ?? 0) + 1);
  }

  fallbacks(): ReadonlyMap<FallbackKind, number> {
    return this.fallbackCounts;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.readyListeners.length = 0;
    await Promise.allSettled([this.client.quit(), this.subscriber.quit()]);
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  private markDown(reason: string): void {
    if (this.closing) return;
    if (this.currentState === 'ready') this.lastUpAt = this.now();
    if (this.currentState !== 'down' && !this.reportedDown) {
      this.reportedDown = true;
      // The URL (and its password) is never logged: only ioredis' reason.
      this.log.warn({ reason }, 'redis: unreachable; rate limits count per instance, budgets use local spend for 60 s, key changes wait for the reconnection');
    }
    this.currentState = 'down';
  }
}
