/**
 * Reasoning details ↔ Anthropic's thinking blocks, both ways, so that a thinking block's
 * `signature` (and any encrypted reasoning) the client sends back reaches the upstream as the
 * `reasoning_details` it came from. Pure.
 *
 * - A `reasoning.text` detail with a signature is a `thinking` block's `signature`; an
 *   encrypted one (`reasoning.encrypted`) is a `redacted_thinking` block's `data`. In
 *   Anthropic's own format (`anthropic-claude-v1`) they are the upstream's strings as sent;
 *   a detail in another format (Gemini's thought signatures, OpenAI's encrypted reasoning)
 *   travels whole in a reasoning token, so it comes back exactly.
 * - Back in: a token is its details; a plain signature or data is Anthropic's format.
 * - Details without a signature or data (plain text, summaries) are the thinking text only.
 */
import type { AnthropicBlock } from '#schemas/anthropic.js';
import type { ChatResult, ReasoningDetail } from '../../core/types.js';
import { detailsFromToken, reasoningToken } from '../reasoning-token.js';

const ANTHROPIC_FORMAT = 'anthropic-claude-v1';

/** A `reasoning.text` detail's signature as a thinking block carries it; undefined when it has none. */
export function thinkingSignature(detail: ReasoningDetail): string | undefined {
  if (detail.type !== 'reasoning.text' || typeof detail.signature !== 'string' || detail.signature === '') return undefined;
  return detail.format === ANTHROPIC_FORMAT ? detail.signature : reasoningToken([detail]);
}

/** A `reasoning.encrypted` detail as a redacted_thinking block's `data`; undefined for other details. */
export function redactedData(detail: ReasoningDetail): string | undefined {
  if (detail.type !== 'reasoning.encrypted') return undefined;
  return detail.format === ANTHROPIC_FORMAT && typeof detail.data === 'string' ? detail.data : reasoningToken([detail]);
}

/** The details a `thinking` or `redacted_thinking` block the client sent back stands for (none for unsigned thinking). */
export function detailsFromBlock(block: AnthropicBlock, index: number): ReasoningDetail[] {
  const opaque = block.type === 'thinking' ? block.signature : block.type === 'redacted_thinking' ? block.data : undefined;
  if (typeof opaque !== 'string' || opaque === '') return [];
  const carried = detailsFromToken(opaque);
  if (carried !== undefined) return carried;
  if (block.type === 'redacted_thinking') return [{ type: 'reasoning.encrypted', data: opaque, format: ANTHROPIC_FORMAT, index }];
  const text = typeof block.thinking === 'string' ? block.thinking : '';
  return [{ type: 'reasoning.text', text, signature: opaque, format: ANTHROPIC_FORMAT, index }];
}

/**
 * A non-stream answer's thinking blocks: one per signed `reasoning.text` detail (its text, its
 * signature), else one with all the reasoning text (signature ''); a `redacted_thinking` per
 * encrypted detail, in the upstream's order.
 */
export function thinkingBlocks(result: ChatResult): Array<Record<string, unknown>> {
  const details = result.reasoningDetails ?? [];
  const signed = details.some((detail) => thinkingSignature(detail) !== undefined);
  const blocks: Array<Record<string, unknown>> = [];
  if (!signed && result.reasoning !== '') blocks.push({ type: 'thinking', thinking: result.reasoning, signature: '' });
  for (const detail of details) {
    const signature = signed ? thinkingSignature(detail) : undefined;
    if (signature !== undefined) blocks.push({ type: 'thinking', thinking: typeof detail.text === 'string' ? detail.text : '', signature });
    const data = redactedData(detail);
    if (data !== undefined) blocks.push({ type: 'redacted_thinking', data });
  }
  return blocks;
}
