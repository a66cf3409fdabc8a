/**
 * Budget spend shared by every gateway on one Redis: a float per subject (a key id, or the
 * keyless gateway's) and budget period, `INCRBYFLOAT`ed by each answered request's cost and
 * expiring at the period's end. A subject's figure that Redis does not hold yet (its first
 * request, or a Redis that lost its data) starts from this gateway's own figure: the ledger's
 * spend at start-up plus what this process has recorded since (SET NX, so the first gateway
 * to seed wins and no increment is lost).
 *
 * While Redis does not answer, the budget check reads this process's own spend for
 * GRACE_PERIOD_MS after Redis was last seen, then refuses (503 BUDGET_UNAVAILABLE) every
 * request that has a budget until Redis is back: a budget is a promise about money, and
 * without the shared figure it cannot be kept. Costs recorded meanwhile are held (up to
 * MAX_PENDING) and added to Redis when it returns.
 */
import type { SpendReader } from '../auth/budgets.js';
import { GatewayError } from '../errors.js';
import { BUDGET_PERIODS, periodEnd, periodStart, type BudgetPeriod } from '../usage/budget-period.js';
import { KEYLESS_SUBJECT, type KeySpend } from '../usage/key-spend.js';
import type { UsageRecord } from '../usage/usage-record.js';
import type { RedisConnection } from './redis-connection.js';

/** How long the budgets use local spend after Redis was last seen, before they fail closed. */
export const GRACE_PERIOD_MS = 60_000;
/** Costs held while Redis is down, at most (the oldest are dropped past it). */
const MAX_PENDING = 10_000;

/** KEYS: one per period. ARGV[1]: the cost; ARGV[2i], ARGV[2i+1]: key i's seed and expiry (Unix s, or -1: never). */
const ADD_SPEND_SCRIPT = `
local cost = ARGV[1]
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, ARGV[2 * i]) end
  redis.call('INCRBYFLOAT', key, cost)
  local expireAt = tonumber(ARGV[2 * i + 1])
  if expireAt > 0 then redis.call('EXPIREAT', key, expireAt) end
end
return 1
`;

interface PendingCost {
  keys: string[];
  /** Seed and expiry per key, then the cost first: the script's ARGV. */
  argv: string[];
}

interface ScriptCommands {
  addSpend(numberOfKeys: number, ...keysThenArgv: string[]): Promise<number>;
}

export class RedisSpend implements SpendReader {
  private readonly commands: ScriptCommands;
  private pending: PendingCost[] = [];

  constructor(private readonly redis: RedisConnection, private readonly local: KeySpend, private readonly now: () => number = Date.now) {
    redis.client.defineCommand('addSpend', { lua: ADD_SPEND_SCRIPT });
    this.commands = redis.client as unknown as ScriptCommands;
    redis.onReady(() => this.sendPending());
  }

  async spent(subject: string, period: BudgetPeriod): Promise<number> {
    if (!this.redis.ready) return this.localOrRefuse(subject, period);
    const key = spendKey(subject, period, this.now());
    let value: string | null;
    try {
      value = await this.redis.client.get(key);
    } catch {
      return this.localOrRefuse(subject, period);
    }
    this.redis.answered();
    if (value !== null) return Number(value);
    // Not in Redis yet: this gateway's figure, which becomes the shared one unless another gateway seeded first.
    const seed = this.local.spent(subject, period);
    const expiry = expiryOf(period, this.now());
    const set = expiry > 0 ? this.redis.client.set(key, String(seed), 'EXAT', expiry, 'NX') : this.redis.client.set(key, String(seed), 'NX');
    set.catch(() => undefined);
    return seed;
  }

  resetsAt(period: BudgetPeriod): number {
    return this.local.resetsAt(period);
  }

  /** A usageEvents subscriber: the cost goes to this process's figures and to Redis (held while it is down). */
  record(record: UsageRecord): void {
    if (!(record.costUsd > 0)) return;
    const subject = record.keyId ?? KEYLESS_SUBJECT;
    const now = this.now();
    const keys: string[] = [];
    const argv: string[] = [String(record.costUsd)];
    // Seeds are the figures before this cost: the script adds it.
    for (const period of BUDGET_PERIODS) {
      keys.push(spendKey(subject, period, now));
      argv.push(String(this.local.spent(subject, period)), String(expiryOf(period, now)));
    }
    this.local.record(record);
    this.send({ keys, argv });
  }

  private send(cost: PendingCost): void {
    if (!this.redis.ready) {
      this.hold(cost);
      return;
    }
    this.commands.addSpend(cost.keys.length, ...cost.keys, ...cost.argv).then(
      () => this.redis.answered(),
      () => this.hold(cost),
    );
  }

  private hold(cost: PendingCost): void {
    this.redis.countFallback('budget');
    this.pending.push(cost);
    if (this.pending.length > MAX_PENDING) this.pending.shift();
  }

  private sendPending(): void {
    const held = this.pending;
    this.pending = [];
    for (const cost of held) this.send(cost);
  }

  private localOrRefuse(subject: string, period: BudgetPeriod): number {
    this.redis.countFallback('budget');
    if (this.redis.downForMs() <= GRACE_PERIOD_MS) return this.local.spent(subject, period);
    throw new GatewayError('BUDGET_UNAVAILABLE', 'spend cannot be checked: the shared budget store (Redis) has been unreachable for more than a minute; retry later', { retryAfter: '10' });
  }
}

function spendKey(subject: string, period: BudgetPeriod, now: number): string {
  return `ollama-bridge:spend:{${subject}}:${period}:${periodStart(period, now)}`;
}

/** When a period's key expires (Unix seconds, an hour after the period ends); -1 for `total`. */
function expiryOf(period: BudgetPeriod, now: number): number {
  const end = periodEnd(period, now);
  return Number.isFinite(end) ? Math.ceil(end / 1000) + 3600 : -1;
}
