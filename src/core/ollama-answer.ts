/**
 * What the IR takes from an answer in Ollama's dialect, for every reader of it alike (the
 * Ollama adapter's decoder and embeddings, the native passthrough's meter): its usage. Pure.
 */
import type { Usage } from './types.js';

/** `prompt_eval_count` and `eval_count` of a final chat or generate object, or of an embed answer → the IR's usage; undefined when it has neither. */
export function usageFromOllama(answer: { prompt_eval_count?: unknown; eval_count?: unknown }): Usage | undefined {
  const usage: Usage = {};
  if (typeof answer.prompt_eval_count === 'number') usage.inputTokens = answer.prompt_eval_count;
  if (typeof answer.eval_count === 'number') usage.outputTokens = answer.eval_count;
  return usage.inputTokens === undefined && usage.outputTokens === undefined ? undefined : usage;
}
