/**
 * Token log probabilities between the wire and the IR. OpenAI's `choices[].logprobs.content`
 * and Ollama's `logprobs` list the same entries (`{token, logprob, bytes, top_logprobs}`), so
 * one reader serves both dialects and one writer gives Ollama's shape. Pure.
 */
import type { AnswerTokenLogprob, ChatEvent, TokenLogprob } from './types.js';

/** Ollama's range for `top_logprobs`, which OpenRouter shares. */
export const MAX_TOP_LOGPROBS = 20;

/** A wire list of `{token, logprob, bytes, top_logprobs}` → the IR; entries that are not one are skipped. */
function logprobsFromWire(list: unknown): AnswerTokenLogprob[] {
  if (!Array.isArray(list)) return [];
  const read: AnswerTokenLogprob[] = [];
  for (const item of list) {
    const entry: AnswerTokenLogprob | undefined = tokenLogprobFromWire(item);
    if (entry === undefined) continue;
    const top = (item as { top_logprobs?: unknown }).top_logprobs;
    if (Array.isArray(top) && top.length > 0) {
      const alternatives: TokenLogprob[] = [];
      for (const alternative of top) {
        const parsed = tokenLogprobFromWire(alternative);
        if (parsed !== undefined) alternatives.push(parsed);
      }
      entry.topLogprobs = alternatives;
    }
    read.push(entry);
  }
  return read;
}

/** The text just appended (the batch's last event) carries these wire entries' log probabilities. */
export function appendLogprobs(batch: ChatEvent[], wireList: unknown): void {
  const tokens = logprobsFromWire(wireList);
  const last = batch[batch.length - 1];
  if (tokens.length === 0 || last?.type !== 'text-delta') return;
  if (last.logprobs === undefined) last.logprobs = tokens;
  else last.logprobs.push(...tokens);
}

/** The IR → Ollama's `logprobs` entries (`bytes` and `top_logprobs` left out when empty, as Go omits them). */
export function logprobsToOllama(list: readonly AnswerTokenLogprob[]): Array<Record<string, unknown>> {
  return list.map((entry) => {
    const wire = tokenLogprobToWire(entry);
    if (entry.topLogprobs !== undefined && entry.topLogprobs.length > 0) wire.top_logprobs = entry.topLogprobs.map(tokenLogprobToWire);
    return wire;
  });
}

function tokenLogprobFromWire(item: unknown): TokenLogprob | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const { token, logprob, bytes } = item as { token?: unknown; logprob?: unknown; bytes?: unknown };
  if (typeof token !== 'string' || typeof logprob !== 'number') return undefined;
  const entry: TokenLogprob = { token, logprob };
  if (Array.isArray(bytes) && bytes.length > 0 && bytes.every((byte) => typeof byte === 'number')) entry.bytes = bytes;
  return entry;
}

function tokenLogprobToWire(entry: TokenLogprob): Record<string, unknown> {
  const wire: Record<string, unknown> = { token: entry.token, logprob: entry.logprob };
  if (entry.bytes !== undefined && entry.bytes.length > 0) wire.bytes = entry.bytes;
  return wire;
}
