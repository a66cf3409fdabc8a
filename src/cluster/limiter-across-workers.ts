/**
 * A rate-limit window shared by the workers of `--workers`, kept by the primary: each
 * admission asks it (one round trip through the primary), each count is told to it. For
 * what is rare and must hold across workers, the admin sign-in failures; the key and address
 * limits stay per worker (a round trip per request would cost more than the limit saves).
 * A worker the primary does not answer in time counts in a window of its own.
 */
import type { PrimaryExchange } from './exchange-primary.js';
import { workerExchange } from './exchange-worker.js';
import { TOPIC } from './messages.js';
import { RateLimiter, type Admission, type Limits, type RequestLimiter } from '../auth/rate-limiter.js';

/** How long an admission waits for the primary before the worker's own window decides. */
const ADMIT_TIMEOUT_MS = 1_000;

interface AdmitAsked {
  subject: string;
  limits: Limits;
}

interface TokensTold {
  subject: string;
  count: number;
}

/** In a worker: the primary's window. Undefined outside a worker. */
export function limiterAcrossWorkers(): RequestLimiter | undefined {
  const exchange = workerExchange();
  if (exchange === undefined) return undefined;
  const own = new RateLimiter();
  return {
    async admit(subject, limits) {
      const [answer] = await exchange.gather(TOPIC.limiterAdmit, { subject, limits } satisfies AdmitAsked, ADMIT_TIMEOUT_MS);
      return isAdmission(answer) ? answer : own.admit(subject, limits);
    },
    recordTokens(subject, count) {
      own.recordTokens(subject, count);
      exchange.tell(TOPIC.limiterTokens, { subject, count } satisfies TokensTold);
    },
  };
}

/** In the primary: the window every worker admits against. */
export function keepLimiterForWorkers(exchange: PrimaryExchange): void {
  const limiter = new RateLimiter();
  exchange.onGather(TOPIC.limiterAdmit, {
    askWorkers: false,
    own: (payload) => {
      const asked = payload as Partial<AdmitAsked> | null;
      if (typeof asked?.subject !== 'string' || typeof asked.limits !== 'object' || asked.limits === null) return [];
      return [limiter.admit(asked.subject, asked.limits)];
    },
  });
  exchange.onTell(TOPIC.limiterTokens, (_worker, payload) => {
    const told = payload as Partial<TokensTold> | null;
    if (typeof told?.subject === 'string' && typeof told.count === 'number') limiter.recordTokens(told.subject, told.count);
  });
}

function isAdmission(answer: unknown): answer is Admission {
  return typeof answer === 'object' && answer !== null && typeof (answer as { admitted?: unknown }).admitted === 'boolean';
}
