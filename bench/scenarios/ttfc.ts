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
  /** ms from request start to the end of the answer. */
  endMs: Summary;
  /** p50 / p99 of this path minus the same percentile of the direct path, ms. */
  addedP50Ms: number;
  addedP99Ms: number;
  incomplete: number;
  errors: string[];
}

export async function runTtfc(targets: readonly StreamTarget[], options: TtfcOptions): Promise<TtfcResult[]> {
  const firstBytes = targets.map(() => [] as number[]);
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
      ends[index]!.push(result.endMs);
    }
  }
  const direct = summarize(firstBytes[0]!);
  return targets.map((target, index) => {
    const firstByteMs = summarize(firstBytes[index]!);
    return {
      name: target.name,
      firstByteMs,
      endMs: summarize(ends[index]!),
      addedP50Ms: firstByteMs.p50 - direct.p50,
      addedP99Ms: firstByteMs.p99 - direct.p99,
      incomplete: incomplete[index]!,
      errors: errors[index]!,
    };
  });
}
