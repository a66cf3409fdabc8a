/**
 * A client's reasoning fields → the internal ReasoningRequest, for both dialects: OpenAI's
 * `reasoning_effort` and `reasoning` object, and Ollama's `think` (which /v1 also accepts,
 * as Ollama does). Pure.
 */
import { GatewayError } from '../errors.js';
import type { ReasoningEffort, ReasoningRequest } from './types.js';

/** The reasoning fields of a request, in either dialect; absent ones are simply not there. */
export interface ReasoningFields {
  reasoning_effort?: string | null | undefined;
  reasoning?: { effort?: string | null | undefined; enabled?: boolean | null | undefined; max_tokens?: number | null | undefined } | null | undefined;
  think?: boolean | string | null | undefined;
}

/** OpenAI's efforts, any case: every level the IR has; `none` disables reasoning and `ultra` is `max`. */
const EFFORTS = new Map<string, ReasoningRequest>([
  ['none', { enabled: false }],
  ['minimal', { enabled: true, effort: 'minimal' }],
  ['low', { enabled: true, effort: 'low' }],
  ['medium', { enabled: true, effort: 'medium' }],
  ['high', { enabled: true, effort: 'high' }],
  ['xhigh', { enabled: true, effort: 'xhigh' }],
  ['max', { enabled: true, effort: 'max' }],
  ['ultra', { enabled: true, effort: 'max' }],
]);

/** Ollama's `think` levels, exactly as Ollama spells them. */
const THINK_LEVELS = new Set(['low', 'medium', 'high', 'max']);

/**
 * `reasoning_effort`, else `reasoning.effort`, else `reasoning.enabled` / `reasoning.max_tokens`,
 * else `think`. A value the dialect does not know is a 400, as in Ollama.
 */
export function toReasoning(fields: ReasoningFields): ReasoningRequest | undefined {
  const effort = fields.reasoning_effort ?? fields.reasoning?.effort;
  if (effort !== undefined && effort !== null) {
    const mapped = EFFORTS.get(effort.toLowerCase());
    if (mapped === undefined) {
      throw new GatewayError(
        'BAD_REQUEST',
        `invalid reasoning effort: ${JSON.stringify(effort)} (must be "none", "minimal", "low", "medium", "high", "xhigh" or "max")`,
      );
    }
    return { ...mapped };
  }
  if (typeof fields.reasoning?.enabled === 'boolean') return { enabled: fields.reasoning.enabled };
  if (typeof fields.reasoning?.max_tokens === 'number') return { enabled: fields.reasoning.max_tokens > 0 };
  const think = fields.think;
  if (think === undefined || think === null) return undefined;
  if (typeof think === 'boolean') return { enabled: think };
  if (THINK_LEVELS.has(think)) return { enabled: true, effort: think as ReasoningEffort };
  throw new GatewayError('BAD_REQUEST', `invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", "max", true, or false)`);
}
