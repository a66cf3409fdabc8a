/**
 * The one info line logged for every answered request, in place of Fastify's "incoming
 * request" / "request completed" pair: what was asked and how it ended, and for a request
 * that could spend upstream, what it spent (from its UsageRecord). Never a key, a prompt or an
 * answer: the URL has key-like query parameters redacted, and the key's id comes from the
 * request's logger (bound when the key authenticated).
 */
import { redactUrl } from '../core/secrets.js';
import type { UsageRecord } from './usage-record.js';

export const REQUEST_LOG_MESSAGE = 'request completed';

export interface AnsweredRequest {
  method: string;
  url: string;
  /** The route as registered; absent when no route matched. */
  route?: string;
  status: number;
  durationMs: number;
}

export function requestLogLine(answered: AnsweredRequest, record?: UsageRecord): Record<string, unknown> {
  const line: Record<string, unknown> = {
    method: answered.method,
    url: redactUrl(answered.url),
    route: answered.route,
    status: answered.status,
    durationMs: tenths(answered.durationMs),
  };
  if (record === undefined) return line;
  line.outcome = record.outcome;
  line.model = record.modelRequested;
  line.modelServed = record.modelServed;
  line.backend = record.backend;
  line.finishReason = record.finishReason;
  line.errorCode = record.errorCode;
  line.promptTokens = record.promptTokens;
  line.completionTokens = record.completionTokens;
  line.reasoningTokens = record.reasoningTokens;
  line.cachedTokens = record.cachedTokens;
  line.tokensEstimated = record.tokensEstimated;
  line.costUsd = record.costUsd;
  line.timeToFirstTokenMs = record.timeToFirstTokenMs === undefined ? undefined : tenths(record.timeToFirstTokenMs);
  line.generationId = record.generationId;
  return line;
}

function tenths(milliseconds: number): number {
  return Math.round(milliseconds * 10) / 10;
}
