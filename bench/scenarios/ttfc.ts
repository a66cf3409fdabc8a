/**
 * Time to first chunk: sequential requests (one in flight), the paths taken in turn on every
 * iteration so drift in the machine hits them alike. The first target is the fake itself;
 * every other path is reported as time added over it.
 */
import { timedStream, type StreamTarget } from '../client.js';
import { summarize, type Summary } from '../stats.js';

export interface TtfcOptions {
  warmup: number;
  iterations: number;
}

export interface TtfcResult {
  name: string;
  /** ms from request start to the first body byte. */
  firstByteMs: Summary;
  /** ms from request start to the first chunk of answer text: the time to first chunk. */
  firstTokenMs: Summary;
  /** ms from request start to the end of the answer. */
  endMs: Summary;
  /** p50 / p99 of this path's first-token time minus the same percentile of the direct path, ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  incomplete: number;
  errors: string[];
}

export async function runTtfc(targets: readonly StreamTarget[], options: TtfcOptions): Promise<TtfcResult[]> {
  const firstBytes = targets.map(() => [] as number[]);
  const firstTokens = targets.map(() => [] as number[]);
  const ends = targets.map(() => [] as number[]);
  const incomplete = targets.map(() => 0);
  const errors = targets.map(() => [] as string[]);
  for (let iteration = 0; iteration < options.warmup + options.iterations; iteration++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (iteration + step) % targets.length;
      const result = await timedStream(targets[index]!);
      if (iteration < options.warmup) continue;
      if (!result.complete) {
        incomplete[index]!++;
        if (result.error !== undefined && errors[index]!.length < 3) errors[index]!.push(result.error);
      }
      if (Number.isFinite(result.firstByteMs)) firstBytes[index]!.push(result.firstByteMs);
      if (Number.isFinite(result.firstTokenMs)) firstTokens[index]!.push(result.firstTokenMs);
      ends[index]!.push(result.endMs);
    }
  }
  const direct = summarize(firstTokens[0]!);
  return targets.map((target, index) => {
    const firstTokenMs = summarize(firstTokens[index]!);
    return {
      name: target.name,
      firstByteMs: summarize(firstBytes[index]!),
      firstTokenMs,
      endMs: summarize(ends[index]!),
      addedP50Ms: firstTokenMs.p50 - direct.p50,
      addedP99Ms: firstTokenMs.p99 - direct.p99,
      incomplete: incomplete[index]!,
      errors: errors[index]!,
    };
  });
}
