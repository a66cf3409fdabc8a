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

/**
 * A request line as one line of text, for the readable log on a terminal: `POST /api/chat 200
 * in 812.4 ms — gpt-4o (served openai/gpt-4o-2024-08-06 by openrouter) 12+48 tokens, $0.00051,
 * first token 301.2 ms, stop, key 1a2b3c4d, gen-…, req-7`. The JSON line keeps every field apart.
 */
export function requestLineText(line: Record<string, unknown>): string {
  const say = (field: string): string => {
    const value = line[field];
    return typeof value === 'string' ? value : JSON.stringify(value);
  };
  const given = (field: string): boolean => line[field] !== undefined;
  let text = `${say('method')} ${say('url')} ${say('status')} in ${say('durationMs')} ms`;
  if (!given('outcome')) return given('reqId') ? `${text}, ${say('reqId')}` : text;
  const parts: string[] = [];
  if (line.outcome !== 'completed') parts.push(given('errorCode') ? `${say('outcome')} ${say('errorCode')}` : say('outcome'));
  const served = [given('modelServed') && line.modelServed !== line.model ? `served ${say('modelServed')}` : '', given('backend') ? `by ${say('backend')}` : '']
    .filter((part) => part !== '')
    .join(' ');
  text += ` — ${given('model') ? say('model') : '(no model)'}${served === '' ? '' : ` (${served})`}`;
  parts.push(`${line.tokensEstimated === true ? '~' : ''}${say('promptTokens')}+${say('completionTokens')} tokens`);
  if (typeof line.costUsd === 'number' && line.costUsd > 0) parts.push(`$${line.costUsd.toFixed(8).replace(/0+$/, '').replace(/\.$/, '')}`);
  if (given('timeToFirstTokenMs')) parts.push(`first token ${say('timeToFirstTokenMs')} ms`);
  for (const field of ['finishReason', 'keyId', 'generationId', 'reqId']) {
    if (!given(field)) continue;
    parts.push(field === 'keyId' ? `key ${say(field)}` : say(field));
  }
  return `${text} ${parts.join(', ')}`;
}

const REQUEST_LINE_MARK = `"msg":"${REQUEST_LOG_MESSAGE}"`;

/** A JSON log line with a request line made one line of text (requestLineText); any other line as it is. */
export function withRequestLineText(line: string): string {
  if (!line.includes(REQUEST_LINE_MARK)) return line;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (fields.msg !== REQUEST_LOG_MESSAGE || typeof fields.method !== 'string') return line;
  return `${JSON.stringify({ level: fields.level, time: fields.time, msg: requestLineText(fields) })}\n`;
}
