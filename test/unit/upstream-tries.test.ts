import { describe, expect, it } from 'vitest';
import { CircuitBreakers } from '../../src/core/circuit-breakers.js';
import { backoffMs, isRetryable, retryAfterMs, runTries, type TriesPolicy, type TryTarget } from '../../src/core/upstream-tries.js';
import { GatewayError } from '../../src/errors.js';

const silentLog = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function upstream(status: number, retryAfter?: string): GatewayError {
  return new GatewayError('UPSTREAM_ERROR', `upstream ${status}`, { statusCode: status, ...(retryAfter === undefined ? {} : { retryAfter }) });
}

/** A policy on a fake clock: sleeping moves the clock, and each wait is noted. */
function fakePolicy(overrides: Partial<TriesPolicy> = {}): TriesPolicy & { waits: number[]; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const waits: number[] = [];
  return {
    circuits: new CircuitBreakers({ now: () => clock.now }),
    maxWaitMs: 5_000,
    totalMs: 30_000,
    random: () => 0,
    now: () => clock.now,
    sleep: async (milliseconds) => {
      waits.push(milliseconds);
      clock.now += milliseconds;
    },
    waits,
    clock,
    ...overrides,
  };
}

const target = (model: string, retries = 0, backend = 'openrouter'): TryTarget => ({ backend, model, retries });

/** Runs the tries with each model failing (or answering) as `outcomes` say, in order of tries. */
async function run(first: TryTarget, fallbacks: TryTarget[], outcomes: Array<Error | string>, policy = fakePolicy()) {
  const tried: string[] = [];
  const finals: boolean[] = [];
  let index = 0;
  const promise = runTries({
    first,
    fallbacks,
    signal: new AbortController().signal,
    log: silentLog,
    attempt: async (candidate, final) => {
      tried.push(candidate.model);
      finals.push(final);
      const outcome = outcomes[index++];
      if (outcome instanceof Error) throw outcome;
      return outcome ?? 'answer';
    },
  }, policy);
  return { promise, tried, finals, policy };
}

describe('which failures another try may mend', () => {
  it('retries unreachable, timeouts, and 408, 429, 500, 502, 503, 504, 529', () => {
    expect(isRetryable(new GatewayError('UPSTREAM_UNAVAILABLE', 'cannot reach'))).toBe(true);
    expect(isRetryable(new GatewayError('UPSTREAM_TIMEOUT', 'headers timeout'))).toBe(true);
    for (const status of [408, 429, 500, 502, 503, 504, 529]) expect(isRetryable(upstream(status))).toBe(true);
  });

  it('never retries client errors, a refused gateway key, or the gateway\'s own refusals', () => {
    for (const status of [400, 401, 403, 404, 413, 422]) expect(isRetryable(upstream(status))).toBe(false);
    expect(isRetryable(new GatewayError('UPSTREAM_KEY_REFUSED', 'refused'))).toBe(false);
    expect(isRetryable(new GatewayError('MODEL_NOT_FOUND', 'no such model'))).toBe(false);
    expect(isRetryable(new GatewayError('BUDGET_EXHAUSTED', 'spent'))).toBe(false);
    expect(isRetryable(new GatewayError('RATE_LIMITED', 'slow down', { retryAfter: '1' }))).toBe(false);
    expect(isRetryable(new GatewayError('CLIENT_CLOSED', 'gone'))).toBe(false);
    expect(isRetryable(new Error('not a gateway error'))).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs('0.5', 0)).toBe(500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(undefined, 0)).toBeUndefined();
    expect(retryAfterMs('soon', 0)).toBeUndefined();
  });

  it('backs off from 250 ms, doubling, with up to half cut at random', () => {
    expect(backoffMs(1, 0)).toBe(125);
    expect(backoffMs(1, 0.999999)).toBeCloseTo(250, 0);
    expect(backoffMs(3, 0)).toBe(500);
  });
});

describe('runTries', () => {
  it('answers from the first model without waiting when it answers', async () => {
    const { promise, tried, policy } = await run(target('a', 2), [target('b')], ['first']);
    expect(await promise).toEqual({ target: target('a', 2), result: 'first' });
    expect(tried).toEqual(['a']);
    expect(policy.waits).toEqual([]);
  });

  it('retries the same model with backoff, then each fallback in order, at once', async () => {
    const { promise, tried, finals, policy } = await run(target('a', 1), [target('b'), target('c')], [upstream(503), upstream(429), upstream(500), 'from c']);
    expect((await promise).result).toBe('from c');
    expect(tried).toEqual(['a', 'a', 'b', 'c']);
    expect(finals).toEqual([false, false, false, true]);
    expect(policy.waits).toEqual([125]);
  });

  it('does not fall back on a client error', async () => {
    const { promise, tried } = await run(target('a', 1), [target('b')], [upstream(400)]);
    await expect(promise).rejects.toMatchObject({ statusCode: 400 });
    expect(tried).toEqual(['a']);
  });

  it('throws the last upstream error when every try failed', async () => {
    const { promise, tried } = await run(target('a'), [target('b')], [upstream(503), upstream(502)]);
    await expect(promise).rejects.toMatchObject({ statusCode: 502, message: 'upstream 502' });
    expect(tried).toEqual(['a', 'b']);
  });

  it('honours a Retry-After up to the bound before a retry', async () => {
    const { promise, policy } = await run(target('a', 1), [], [upstream(429, '2'), 'ok']);
    expect((await promise).result).toBe('ok');
    expect(policy.waits).toEqual([2000]);
  });

  it('moves to the next fallback at once when the Retry-After is beyond the bound', async () => {
    const { promise, tried, policy } = await run(target('a', 3), [target('b')], [upstream(429, '60'), 'from b']);
    expect((await promise).result).toBe('from b');
    expect(tried).toEqual(['a', 'b']);
    expect(policy.waits).toEqual([]);
  });

  it('caps a backoff at the bound', async () => {
    const policy = fakePolicy({ maxWaitMs: 100 });
    const { promise } = await run(target('a', 1), [], [upstream(503), 'ok'], policy);
    await promise;
    expect(policy.waits).toEqual([100]);
  });

  it('starts no try past the total bound: the last error then', async () => {
    const policy = fakePolicy({ totalMs: 1_000 });
    const first = target('a', 1);
    const tried: string[] = [];
    const promise = runTries({
      first,
      fallbacks: [target('b')],
      signal: new AbortController().signal,
      log: silentLog,
      attempt: async (candidate) => {
        tried.push(candidate.model);
        policy.clock.now += 1_500; // a slow failure
        throw upstream(504);
      },
    }, policy);
    await expect(promise).rejects.toMatchObject({ statusCode: 504 });
    expect(tried).toEqual(['a']);
  });

  it('stops when the client has gone', async () => {
    const controller = new AbortController();
    const tried: string[] = [];
    const promise = runTries({
      first: target('a'),
      fallbacks: [target('b')],
      signal: controller.signal,
      log: silentLog,
      attempt: async (candidate) => {
        tried.push(candidate.model);
        controller.abort();
        throw new GatewayError('UPSTREAM_UNAVAILABLE', 'cut');
      },
    }, fakePolicy());
    await expect(promise).rejects.toThrow('cut');
    expect(tried).toEqual(['a']);
  });

  it('skips a model whose circuit is open, unless it is the last one left', async () => {
    const policy = fakePolicy();
    for (let failure = 0; failure < 3; failure++) policy.circuits.failed('openrouter', 'a', 'down', false);
    const skipped = await run(target('a'), [target('b')], ['from b'], policy);
    expect((await skipped.promise).result).toBe('from b');
    expect(skipped.tried).toEqual(['b']);
    const alone = await run(target('a'), [], ['from a'], policy);
    expect((await alone.promise).result).toBe('from a');
    expect(alone.tried).toEqual(['a']);
  });
});

describe('circuit breakers', () => {
  it('open after three failures in a row, let one try through after the cool-down, and close on its success', () => {
    let now = 0;
    const circuits = new CircuitBreakers({ now: () => now });
    circuits.failed('openrouter', 'm', 'a 503', false);
    circuits.failed('openrouter', 'm', 'a 503', false);
    expect(circuits.allows('openrouter', 'm')).toBe(true);
    circuits.failed('openrouter', 'm', 'a 503', false);
    expect(circuits.allows('openrouter', 'm')).toBe(false);
    expect(circuits.report()).toEqual([{ backend: 'openrouter', model: 'm', state: 'open', failures: 3, retryInMs: 10_000, lastError: 'a 503' }]);
    now = 10_000;
    expect(circuits.report()[0]!.state).toBe('half_open');
    expect(circuits.allows('openrouter', 'm')).toBe(true);
    // One try at a time while half open.
    expect(circuits.allows('openrouter', 'm')).toBe(false);
    circuits.succeeded('openrouter', 'm');
    expect(circuits.report()).toEqual([]);
    expect(circuits.allows('openrouter', 'm')).toBe(true);
  });

  it('double the cool-down each time the half-open try fails, up to the cap', () => {
    let now = 0;
    const circuits = new CircuitBreakers({ now: () => now, baseCoolDownMs: 1_000, maxCoolDownMs: 3_000 });
    for (let failure = 0; failure < 3; failure++) circuits.failed('ollama', 'm', 'down', false);
    const cooldowns: number[] = [];
    for (let round = 0; round < 3; round++) {
      now += circuits.report()[0]!.retryInMs;
      expect(circuits.allows('ollama', 'm')).toBe(true);
      circuits.failed('ollama', 'm', 'down', false);
      cooldowns.push(circuits.report()[0]!.retryInMs);
    }
    expect(cooldowns).toEqual([2_000, 3_000, 3_000]);
  });

  it('open a whole backend on failures of its own (unreachable, timeouts), whatever the model', () => {
    const circuits = new CircuitBreakers({ now: () => 0 });
    circuits.failed('ollama', 'a', 'cannot reach', true);
    circuits.failed('ollama', 'b', 'cannot reach', true);
    circuits.failed('ollama', 'c', 'cannot reach', true);
    expect(circuits.allows('ollama', 'd')).toBe(false);
    expect(circuits.allows('openrouter', 'd')).toBe(true);
    expect(circuits.report()[0]).toMatchObject({ backend: 'ollama', model: undefined, state: 'open' });
  });
});
