/**
 * Limits over a sliding one-minute window, per subject (a client key's id, or a client
 * address when no keys are configured): requests per minute (counted when a request is
 * admitted) and tokens per minute (counted from the usage upstreams report). In memory; a
 * gateway restart forgets. `retryAfterSeconds` tells the client when to retry. Windows that
 * have gone quiet are dropped once a minute, so many addresses do not pile up.
 */
interface Window {
  requests: number[];
  tokens: Array<{ at: number; count: number }>;
}

export interface Limits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number; reason: string };

/** Counts requests and tokens per subject: this process's RateLimiter, or one shared by several (shared-state/redis-rate-limiter.ts). */
export interface RequestLimiter {
  /** Admits (and counts) a request, or says how long to wait. */
  admit(subject: string, limits: Limits): Admission | Promise<Admission>;
  recordTokens(subject: string, count: number): void;
}

export const WINDOW_MS = 60_000;

export class RateLimiter implements RequestLimiter {
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Admits (and counts) a request, or says how long to wait. */
  admit(subject: string, limits: Limits): Admission {
    if (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined) return { admitted: true };
    const now = this.now();
    this.sweep(now);
    const window = this.windowOf(subject, now);
    if (limits.requestsPerMinute !== undefined && window.requests.length >= limits.requestsPerMinute) {
      return { admitted: false, retryAfterSeconds: secondsUntil(window.requests[0]! + WINDOW_MS, now), reason: `rate limit of ${limits.requestsPerMinute} requests per minute reached` };
    }
    if (limits.tokensPerMinute !== undefined) {
      let used = 0;
      for (const entry of window.tokens) used += entry.count;
      if (used >= limits.tokensPerMinute) {
        return { admitted: false, retryAfterSeconds: secondsUntil(window.tokens[0]!.at + WINDOW_MS, now), reason: `rate limit of ${limits.tokensPerMinute} tokens per minute reached` };
      }
    }
    window.requests.push(now);
    return { admitted: true };
  }

  recordTokens(subject: string, count: number): void {
    if (count <= 0) return;
    const now = this.now();
    this.windowOf(subject, now).tokens.push({ at: now, count });
  }

  /** How many subjects have a window (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private windowOf(subject: string, now: number): Window {
    let window = this.windows.get(subject);
    if (window === undefined) {
      window = { requests: [], tokens: [] };
      this.windows.set(subject, window);
    }
    const start = now - WINDOW_MS;
    while (window.requests.length > 0 && window.requests[0]! <= start) window.requests.shift();
    while (window.tokens.length > 0 && window.tokens[0]!.at <= start) window.tokens.shift();
    return window;
  }

  /** At most once a window: drops the windows with nothing left in them. */
  private sweep(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + WINDOW_MS;
    const start = now - WINDOW_MS;
    for (const [subject, window] of this.windows) {
      const lastRequest = window.requests.at(-1);
      const lastTokens = window.tokens.at(-1)?.at;
      if ((lastRequest === undefined || lastRequest <= start) && (lastTokens === undefined || lastTokens <= start)) this.windows.delete(subject);
    }
  }
}

export function secondsUntil(time: number, now: number): number {
  return Math.max(1, Math.ceil((time - now) / 1000));
}
