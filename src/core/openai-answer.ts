/**
 * What the IR takes from an answer in OpenAI's dialect, for every reader of it alike: its
 * usage, its finish reason, who answered. OpenRouter speaks this dialect; its adapter and the
 * /v1 relay read the same answers. Pure.
 */
import type { AnswerOrigin, FinishReason, Usage } from './types.js';

/** `usage` of a chat answer or an embeddings answer → the IR's. */
export function usageFromOpenAi(usage: Record<string, unknown>): Usage {
  const result: Usage = {};
  if (typeof usage.prompt_tokens === 'number') result.inputTokens = usage.prompt_tokens;
  if (typeof usage.completion_tokens === 'number') result.outputTokens = usage.completion_tokens;
  const reasoning = numberIn(usage.completion_tokens_details, 'reasoning_tokens');
  if (reasoning !== undefined) result.reasoningTokens = reasoning;
  const cached = numberIn(usage.prompt_tokens_details, 'cached_tokens');
  if (cached !== undefined) result.cachedTokens = cached;
  if (typeof usage.cost === 'number') result.cost = usage.cost;
  return result;
}

/** A `finish_reason` (with OpenRouter's `native_finish_reason`) → the IR's; `error` is a failure, not a finish. */
export function finishReasonFromOpenAi(raw: string, nativeReason: unknown): FinishReason | 'error' {
  switch (raw) {
    case 'stop':
      return nativeReason === 'max_tokens' || nativeReason === 'MAX_TOKENS' ? 'length' : 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    case 'error':
      return 'error';
    default:
      return 'other';
  }
}

/** The answer's (or chunk's) `model` and `id`; undefined when it names neither. */
export function originFromOpenAi(answer: { model?: unknown; id?: unknown }): AnswerOrigin | undefined {
  const origin: AnswerOrigin = {};
  if (typeof answer.model === 'string' && answer.model !== '') origin.modelServed = answer.model;
  if (typeof answer.id === 'string' && answer.id !== '') origin.generationId = answer.id;
  return origin.modelServed === undefined && origin.generationId === undefined ? undefined : origin;
}

function numberIn(details: unknown, field: string): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const value = (details as Record<string, unknown>)[field];
  return typeof value === 'number' ? value : undefined;
}
