/**
 * GET /api/tags with a large catalog against a trivial node:http server that sends the same
 * bytes from a cached Buffer: CPU per request of each server process (one sample per round,
 * rounds alternating), and the client-side latency.
 */
import { runPool, timedGet } from '../client.js';
import { cpuSeconds } from '../process-stats.js';
import { summarize, type Summary } from '../stats.js';

export interface TagsTarget {
  name: string;
  url: string;
  pid: number;
}

export interface TagsOptions {
  concurrency: number;
  requestsPerRound: number;
  rounds: number;
  warmup: number;
}

export interface TagsResult {
  name: string;
  /** Server CPU µs per request, one sample per round. */
  cpuUsPerRequest: Summary;
  latencyMs: Summary;
  bytes: number;
  failures: number;
}

export async function runTags(targets: readonly TagsTarget[], options: TagsOptions): Promise<TagsResult[]> {
  const samples = targets.map(() => ({ cpu: [] as number[], latency: [] as number[], bytes: 0, failures: 0 }));
  for (const target of targets) await runPool(options.warmup, options.concurrency, () => timedGet(target.url));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const target = targets[index]!;
      const sample = samples[index]!;
      const before = cpuSeconds(target.pid);
      const results = await runPool(options.requestsPerRound, options.concurrency, () => timedGet(target.url));
      sample.cpu.push(((cpuSeconds(target.pid) - before) * 1e6) / options.requestsPerRound);
      for (const result of results) {
        sample.latency.push(result.ms);
        if (!result.ok) sample.failures++;
        else sample.bytes = result.bytes;
      }
    }
  }
  return targets.map((target, index) => {
    const sample = samples[index]!;
    return { name: target.name, cpuUsPerRequest: summarize(sample.cpu), latencyMs: summarize(sample.latency), bytes: sample.bytes, failures: sample.failures };
  });
}
