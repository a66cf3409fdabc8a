/**
 * `/health/ready`'s answer: ready when at least one backend has a model catalog and the usage
 * ledger (when it is on) can take records. Read from state the gateway already keeps: it
 * starts no fetch and touches no upstream. Error texts are redacted: never a secret.
 */
import type { BackendStatus } from '../core/model-catalog.js';
import type { CircuitReadiness } from './circuit-readiness.js';
import { redactSecrets } from '../core/secrets.js';
import type { UsageLedgerHealth } from '../usage/usage-record.js';

export interface BackendReadiness {
  state: BackendStatus['state'];
  models: number;
  /** Seconds since its list was last fetched; null before it ever was. */
  catalog_age_seconds: number | null;
  last_error: string | null;
}

export interface LedgerReadiness {
  state: 'off' | 'writable' | 'not_writable';
  reason?: string;
}

/** The shared store (Redis, --redis-url): `off` without one. A gateway whose Redis is down still serves (its limits fall back), so it stays ready. */
export interface RedisReadiness {
  state: 'off' | 'connecting' | 'ready' | 'down';
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  /** Why it is not ready. */
  reason?: string;
  backends: Record<string, BackendReadiness>;
  usage_ledger: LedgerReadiness;
  redis: RedisReadiness;
  /** The circuit breakers that have seen failures (circuit-readiness.ts). */
  circuits?: CircuitReadiness[];
}

export function readinessReport(backends: readonly BackendStatus[], ledger: UsageLedgerHealth | undefined, now: number, redis: RedisReadiness = { state: 'off' }): ReadinessReport {
  const byName: Record<string, BackendReadiness> = {};
  for (const backend of backends) {
    byName[backend.name] = {
      state: backend.state,
      models: backend.models,
      catalog_age_seconds: backend.lastSuccessAt === undefined ? null : Math.max(0, Math.round((now - backend.lastSuccessAt) / 1000)),
      last_error: backend.lastError === undefined ? null : redactSecrets(backend.lastError),
    };
  }
  const usageLedger = ledgerReadiness(ledger);
  const reasons: string[] = [];
  if (!backends.some((backend) => backend.lastSuccessAt !== undefined)) {
    const why = backends.map((backend) => `${backend.name}: ${backend.lastError === undefined ? 'no answer yet' : redactSecrets(backend.lastError)}`);
    reasons.push(`no backend has a model catalog (${why.join('; ')})`);
  }
  if (usageLedger.state === 'not_writable') reasons.push(`the usage ledger is not writable${usageLedger.reason === undefined ? '' : `: ${usageLedger.reason}`}`);
  return reasons.length === 0
    ? { status: 'ready', backends: byName, usage_ledger: usageLedger, redis }
    : { status: 'not_ready', reason: reasons.join('; '), backends: byName, usage_ledger: usageLedger, redis };
}

function ledgerReadiness(ledger: UsageLedgerHealth | undefined): LedgerReadiness {
  if (ledger === undefined) return { state: 'off' };
  let health: ReturnType<UsageLedgerHealth['health']>;
  try {
    health = ledger.health();
  } catch {
    return { state: 'not_writable', reason: 'its health check failed' };
  }
  if (health.writable) return { state: 'writable' };
  return health.reason === undefined ? { state: 'not_writable' } : { state: 'not_writable', reason: redactSecrets(health.reason) };
}
