/**
 * Decoded events as a comparable list: batches flattened, adjacent deltas of one kind merged
 * (how a stream is cut changes its batches, never this list), errors as code + status + message.
 */
import type { ChatEventBatch } from '../../src/core/types.js';

export function normalizeEvents(batches: ChatEventBatch[]): unknown[] {
  const events: unknown[] = [];
  for (const event of batches.flat()) {
    const last = events[events.length - 1] as { type?: string; text?: string } | undefined;
    if ((event.type === 'text-delta' || event.type === 'reasoning-delta') && last?.type === event.type) {
      last.text += event.text;
      continue;
    }
    if (event.type === 'error') events.push({ type: 'error', code: event.error.code, status: event.error.statusCode, message: event.error.message });
    else events.push(structuredClone(event));
  }
  return events;
}
