/**
 * Rate limits counted in Redis, so that a key's limits hold over every gateway sharing it: the
 * same sliding one-minute window as auth/rate-limiter.ts, as two sorted sets per subject
 * (requests, and token counts scored by time, with the tokens' running sum), checked and counted by one Lua script, so two
 * gateways admitting at the same moment cannot both take the last slot. Times are Redis's own
 * clock (TIME), so gateways whose clocks differ still share one window.
 *
 * When Redis does not answer (down, or slower than the command timeout), this process counts
 * on its own (the in-memory limiter) until Redis is back: limits then hold per instance.
 */
import { randomBytes } from 'node:crypto';
import type { Admission, Limits, RateLimiter, RequestLimiter } from '../auth/rate-limiter.js';
import { WINDOW_MS, secondsUntil } from '../auth/rate-limiter.js';
import type { RedisConnection } from './redis-connection.js';

/**
 * The tokens of a window are kept as a running sum beside their sorted set, so that a check
 * costs the same however many answers the minute holds: entries that leave the window are
 * subtracted as they are trimmed (each once). A sum that is missing (its key expired with the
 * set, or a gateway of an earlier version wrote the set) is counted once from the set.
 */
const TOKENS_IN_WINDOW = `
local function tokensOf(members)
  local total = 0
  for _, member in ipairs(members) do total = total + tonumber(string.match(member, ':(%d+)$')) end
  return total
end
local function tokensInWindow(setKey, sumKey, start, window)
  local gone = redis.call('ZRANGEBYSCORE', setKey, '-inf', start)
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', setKey, '-inf', start) end
  local sum = redis.call('GET', sumKey)
  if not sum or redis.call('ZCARD', setKey) == 0 then
    local total = tokensOf(redis.call('ZRANGE', setKey, 0, -1))
    redis.call('SET', sumKey, total, 'PX', window)
    return total
  end
  if #gone == 0 then return tonumber(sum) end
  return redis.call('DECRBY', sumKey, tokensOf(gone))
end
`;

/** KEYS: requests, tokens, tokens' sum. ARGV: window ms, requests per minute (-1: none), tokens per minute (-1: none), a unique member. */
const ADMIT_SCRIPT = `${TOKENS_IN_WINDOW}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local start = now - window
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', start)
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
if rpm >= 0 and redis.call('ZCARD', KEYS[1]) >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {1, tonumber(oldest[2]) + window - now}
end
if tpm >= 0 and tokensInWindow(KEYS[2], KEYS[3], start, window) >= tpm then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {0, 0}
`;

/** KEYS: tokens, tokens' sum. ARGV: window ms, a unique member ending in ":<count>", the count. */
const RECORD_TOKENS_SCRIPT = `${TOKENS_IN_WINDOW}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
tokensInWindow(KEYS[1], KEYS[2], now - window, window)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return 1
`;

type AdmitReply = [number, number];

interface ScriptCommands {
  rateLimitAdmit(requestsKey: string, tokensKey: string, tokensSumKey: string, windowMs: number, requestsPerMinute: number, tokensPerMinute: number, member: string): Promise<AdmitReply>;
  rateLimitRecordTokens(tokensKey: string, tokensSumKey: string, windowMs: number, member: string, count: number): Promise<number>;
}

export class RedisRateLimiter implements RequestLimiter {
  private readonly commands: ScriptCommands;
  /** Makes members unique across gateways: this process's random tag and a counter. */
  private readonly tag = randomBytes(6).toString('base64url');
  private sequence = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly local: RateLimiter,
    /** The sliding window (tests shorten it). */
    private readonly windowMs: number = WINDOW_MS,
  ) {
    redis.client.defineCommand('rateLimitAdmit', { numberOfKeys: 3, lua: ADMIT_SCRIPT });
    redis.client.defineCommand('rateLimitRecordTokens', { numberOfKeys: 2, lua: RECORD_TOKENS_SCRIPT });
    this.commands = redis.client as unknown as ScriptCommands;
  }

  async admit(subject: string, limits: Limits): Promise<Admission> {
    if (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined) return { admitted: true };
    if (!this.redis.ready) return this.fallBack(subject, limits);
    let reply: AdmitReply;
    try {
      reply = await this.commands.rateLimitAdmit(
        requestsKey(subject), tokensKey(subject), tokensSumKey(subject), this.windowMs, limits.requestsPerMinute ?? -1, limits.tokensPerMinute ?? -1, this.member(),
      );
    } catch {
      return this.fallBack(subject, limits);
    }
    this.redis.answered();
    const [outcome, waitMs] = reply;
    if (outcome === 0) return { admitted: true };
    const retryAfterSeconds = secondsUntil(waitMs, 0);
    return outcome === 1
      ? { admitted: false, retryAfterSeconds, reason: `rate limit of ${limits.requestsPerMinute} requests per minute reached` }
      : { admitted: false, retryAfterSeconds, reason: `rate limit of ${limits.tokensPerMinute} tokens per minute reached` };
  }

  recordTokens(subject: string, count: number): void {
    if (count <= 0) return;
    if (!this.redis.ready) {
      this.redis.countFallback('rate_limit');
      this.local.recordTokens(subject, count);
      return;
    }
    const tokens = Math.round(count);
    this.commands.rateLimitRecordTokens(tokensKey(subject), tokensSumKey(subject), this.windowMs, `${this.member()}:${tokens}`, tokens).then(
      () => this.redis.answered(),
      () => {
        this.redis.countFallback('rate_limit');
        this.local.recordTokens(subject, count);
      },
    );
  }

  private fallBack(subject: string, limits: Limits): Admission {
    this.redis.countFallback('rate_limit');
    return this.local.admit(subject, limits);
  }

  private member(): string {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.tag}.${this.sequence}`;
  }
}

// The subject between braces: a Redis Cluster keeps both of a subject's keys on one node (the script needs that).
function requestsKey(subject: string): string {
  return `ollama-bridge:rate:{${subject}}:requests`;
}

function tokensKey(subject: string): string {
  return `ollama-bridge:rate:{${subject}}:tokens`;
}

function tokensSumKey(subject: string): string {
  return `ollama-bridge:rate:{${subject}}:tokens-sum`;
}
