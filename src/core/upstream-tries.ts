/**
 * Retries and fallbacks: the tries of one request before the first byte of its answer goes
 * to the client. The model asked for is tried, then again `retries` times, then each of its
 * fallbacks in order (each with its own retries), only while the failure is one that another
 * try may mend (isRetryable) and only within the time bounds. The last upstream error is
 * thrown when every try failed. Pure but for the clock and the sleep it is given.
 */
import { GatewayError } from '../errors.js';
import type { CircuitBreakers } from './circuit-breakers.js';
import type { Log } from './log.js';

/** Upstream statuses another try may mend: timeouts, rate limits, overload, server errors. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504, 529]);
/** The first wait before a retry of the same model; doubled on each further retry. */
const BACKOFF_BASE_MS = 250;

/** Whether an upstream's error status is one another try may mend. */
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/**
 * Whether another try may mend this failure: the upstream unreachable or silent (timeouts),
 * or an upstream error of a retryable status (in-band ones before the first token included).
 * Never a client error (400, 401, 403, 404, 413, 422), nor the gateway's own refusals
 * (budget 402, rate limit 429, access 403): those are not UPSTREAM_ codes.
 */
export function isRetryable(error: unknown): error is GatewayError {
  if (!(error instanceof GatewayError)) return false;
  if (error.code === 'UPSTREAM_UNAVAILABLE' || error.code === 'UPSTREAM_TIMEOUT') return true;
  return error.code === 'UPSTREAM_ERROR' && RETRYABLE_STATUSES.has(error.statusCode);
}

/** Whether the failure is the backend's own (unreachable, or no answer in time), not one model's. */
export function isBackendWide(error: GatewayError): boolean {
  return error.code === 'UPSTREAM_UNAVAILABLE' || error.code === 'UPSTREAM_TIMEOUT';
}

/** Retry-After in milliseconds: seconds, or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before retry `retry` (1, 2 …) of the same model: 250 ms doubled each time, at least half of it, at random (`random` in [0, 1)). */
export function backoffMs(retry: number, random: number): number {
  const base = BACKOFF_BASE_MS * 2 ** Math.min(retry - 1, 20);
  return base * (0.5 + 0.5 * random);
}

/** A model that may be tried. */
export interface TryTarget {
  backend: string;
  /** The backend's id of the model. */
  model: string;
  /** Tries of it after the first one. */
  retries: number;
}

export interface TriesPolicy {
  circuits: CircuitBreakers;
  /** The longest wait before a retry, Retry-After included: a longer Retry-After moves to the next model at once. */
  maxWaitMs: number;
  /** No try starts later than this after the first one began. */
  totalMs: number;
  random: () => number;
  now: () => number;
  /** Waits, or rejects once the signal fires. */
  sleep: (milliseconds: number, signal: AbortSignal) => Promise<void>;
}

export interface Tries<Target extends TryTarget, Result> {
  /** The model asked for, resolved and checked. */
  first: Target;
  /** Its fallbacks, each resolved and checked; those that may not be used are already left out. */
  fallbacks: readonly Target[];
  /**
   * One try: resolves once the answer has started (no byte sent yet), throws otherwise.
   * `final`: no other try follows should this one fail.
   */
  attempt(target: Target, final: boolean): Promise<Result>;
  signal: AbortSignal;
  log: Log;
}

/**
 * Runs the tries. A model whose circuit is open is skipped, unless it is the last model left:
 * a circuit never refuses a request on its own, it only moves it on sooner.
 */
export async function runTries<Target extends TryTarget, Result>(tries: Tries<Target, Result>, policy: TriesPolicy): Promise<{ target: Target; result: Result }> {
  const targets = [tries.first, ...tries.fallbacks];
  // Nothing to fall back on, nothing to retry: one try, the breaker only told how it went.
  if (targets.length === 1 && tries.first.retries === 0) return { target: tries.first, result: await tryOnce(tries, policy, tries.first, true) };

  const startedAt = policy.now();
  let lastError: GatewayError | undefined;
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index]!;
    const lastModel = index === targets.length - 1;
    if (!policy.circuits.allows(target.backend, target.model) && !lastModel) {
      tries.log.warn({ model: target.model, backend: target.backend, reason: 'circuit_open' }, `skipped ${target.model}: its circuit is open after repeated failures`);
      continue;
    }
    for (let retry = 0; retry <= target.retries; retry++) {
      if (retry > 0 || lastError !== undefined) {
        const elapsed = policy.now() - startedAt;
        if (elapsed >= policy.totalMs) throw exhausted(lastError!, tries.log, policy.totalMs);
        if (retry > 0) {
          const wait = waitBeforeRetry(lastError!, retry, policy);
          if (wait === undefined || elapsed + wait >= policy.totalMs) break;
          await policy.sleep(wait, tries.signal);
        }
      }
      const final = lastModel && retry === target.retries;
      try {
        return { target, result: await tryOnce(tries, policy, target, final) };
      } catch (error) {
        if (!isRetryable(error) || tries.signal.aborted) throw error;
        lastError = error;
        const next = final ? 'no try left' : retry < target.retries ? 'retrying it' : 'trying the next fallback';
        tries.log.warn(
          { model: target.model, backend: target.backend, try: retry + 1, status: error.statusCode, code: error.code, reason: error.message },
          `try ${retry + 1} of ${target.model} failed (${error.statusCode}: ${error.message}); ${next}`,
        );
      }
    }
  }
  throw lastError ?? new GatewayError('INTERNAL', 'no model was tried');
}

/** One try, its outcome told to the breaker (a client error says the model is there: not a failure). */
async function tryOnce<Target extends TryTarget, Result>(tries: Tries<Target, Result>, policy: TriesPolicy, target: Target, final: boolean): Promise<Result> {
  try {
    const result = await tries.attempt(target, final);
    policy.circuits.succeeded(target.backend, target.model);
    return result;
  } catch (error) {
    if (isRetryable(error) && !tries.signal.aborted) policy.circuits.failed(target.backend, target.model, error.message, isBackendWide(error));
    else policy.circuits.released(target.backend, target.model);
    throw error;
  }
}

/** The wait before a retry of the same model; undefined when its Retry-After is beyond the bound (the next model then, at once). */
function waitBeforeRetry(error: GatewayError, retry: number, policy: TriesPolicy): number | undefined {
  const asked = retryAfterMs(error.retryAfter, policy.now());
  if (asked !== undefined && asked > policy.maxWaitMs) return undefined;
  return Math.min(policy.maxWaitMs, Math.max(asked ?? 0, backoffMs(retry, policy.random())));
}

function exhausted(lastError: GatewayError, log: Log, totalMs: number): GatewayError {
  log.warn({ totalMs }, `no further try: the tries have taken ${totalMs} ms (--retry-total)`);
  return lastError;
}

/** A wait that ends early, rejecting with the signal's reason, when the signal fires. */
export function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
