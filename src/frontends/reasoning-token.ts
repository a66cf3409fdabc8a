/**
 * Reasoning details in an opaque string a client keeps and sends back: Anthropic's
 * `redacted_thinking.data` or `signature` (for details not in Anthropic's own format), the
 * Responses API's `encrypted_content`. The token is the details' JSON in base64url behind a
 * marker, so what the client sends back is exactly what the upstream sent. Pure.
 */
import { reasoningDetailsOf } from '../core/reasoning-details.js';
import type { ReasoningDetail } from '../core/types.js';

const MARKER = 'orbr1.';

export function reasoningToken(details: readonly ReasoningDetail[]): string {
  return MARKER + Buffer.from(JSON.stringify(details), 'utf8').toString('base64url');
}

/** The details in a token; undefined for any other string (a client's own, or another server's). */
export function detailsFromToken(value: unknown): ReasoningDetail[] | undefined {
  if (typeof value !== 'string' || !value.startsWith(MARKER)) return undefined;
  try {
    return reasoningDetailsOf(JSON.parse(Buffer.from(value.slice(MARKER.length), 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
}
