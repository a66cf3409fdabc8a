/**
 * OpenRouter's `reasoning_details` fragments, as a stream sends them, → whole details. Pure.
 *
 * The merge rule is OpenRouter's own client's (ai-sdk-provider): consecutive `reasoning.text`
 * fragments of one `index` are one detail (texts appended, the first non-empty `signature`,
 * `format`, `id` kept), and so are consecutive `reasoning.summary` fragments (summaries
 * appended); every other fragment (`reasoning.encrypted` …) is a detail as it came.
 */
import type { ReasoningDetail } from './types.js';

/** The field a mergeable type's fragments append to. */
const APPENDED = new Map<string, string>([['reasoning.text', 'text'], ['reasoning.summary', 'summary']]);

export class ReasoningDetailsMerger {
  private pending: ReasoningDetail[] = [];

  /**
   * Adds a chunk's fragments. Returns the details a fragment of another detail has completed
   * (the last one stays pending: more of it may come), or undefined.
   */
  add(fragments: readonly unknown[]): ReasoningDetail[] | undefined {
    let completed: ReasoningDetail[] | undefined;
    for (const fragment of fragments) {
      if (typeof fragment !== 'object' || fragment === null || Array.isArray(fragment)) continue;
      const detail = fragment as ReasoningDetail;
      if (typeof detail.type !== 'string') continue;
      const last = this.pending.at(-1);
      if (last !== undefined && continues(last, detail)) {
        mergeInto(last, detail);
        continue;
      }
      if (last !== undefined) (completed ??= []).push(...this.pending.splice(0));
      // A copy: merging appends to it.
      this.pending.push({ ...detail });
    }
    return completed;
  }

  /** The pending details, now complete (the stream moved on to the answer, or ended). */
  take(): ReasoningDetail[] | undefined {
    if (this.pending.length === 0) return undefined;
    return this.pending.splice(0);
  }
}

function continues(last: ReasoningDetail, next: ReasoningDetail): boolean {
  return last.type === next.type && APPENDED.has(next.type) && last.index === next.index;
}

function mergeInto(target: ReasoningDetail, fragment: ReasoningDetail): void {
  const appended = APPENDED.get(fragment.type)!;
  for (const [field, value] of Object.entries(fragment)) {
    if (value === undefined || value === null) continue;
    if (field === appended) {
      if (typeof value === 'string') target[field] = (typeof target[field] === 'string' ? target[field] : '') + value;
    } else if (target[field] === undefined || target[field] === null || target[field] === '') {
      target[field] = value;
    }
  }
}

/** A value a client sent as reasoning details: an array of objects with a string `type`, else undefined. */
export function reasoningDetailsOf(value: unknown): ReasoningDetail[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item) || typeof (item as { type?: unknown }).type !== 'string') return undefined;
  }
  return value as ReasoningDetail[];
}
