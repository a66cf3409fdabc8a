/**
 * Per-key limits over a sliding one-minute window: requests per minute (counted when a
 * request is admitted) and tokens per minute (counted from the usage upstreams report).
 * In memory; a gateway restart forgets. `retryAfterSeconds` tells the client when to retry.
 */
const WINDOW_MS = 60_000;

interface Window {
  requests: number[];
  tokens: Array<{ at: number; count: number }>;
}

export interface Limits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number; reason: string };

export class RateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Admits (and counts) a request, or says how long to wait. */
  admit(keyId: string, limits: Limits): Admission {
    if (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined) return { admitted: true };
    const now = this.now();
    const window = this.windowOf(keyId, now);
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

  recordTokens(keyId: string, count: number): void {
    if (count <= 0) return;
    const now = this.now();
    this.windowOf(keyId, now).tokens.push({ at: now, count });
  }

  private windowOf(keyId: string, now: number): Window {
    let window = this.windows.get(keyId);
    if (window === undefined) {
      window = { requests: [], tokens: [] };
      this.windows.set(keyId, window);
    }
    const start = now - WINDOW_MS;
    while (window.requests.length > 0 && window.requests[0]! <= start) window.requests.shift();
    while (window.tokens.length > 0 && window.tokens[0]!.at <= start) window.tokens.shift();
    return window;
  }
}

function secondsUntil(time: number, now: number): number {
  return Math.max(1, Math.ceil((time - now) / 1000));
}
