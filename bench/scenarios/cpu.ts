/**
 * Server CPU per streamed answer: `concurrency` streams at once, upstream pace 0. Each round
 * runs `answersPerRound` answers against one path and divides the CPU the server process used
 * (from /proc, 10 ms ticks) by the answers. Rounds alternate between paths; the median and p99
 * are over rounds.
 */
import { performance } from 'node:perf_hooks';
import { fakeStats, runPool, timedStream, type StreamTarget } from '../client.js';
import { cpuSeconds } from '../process-stats.js';
import { summarize, type Summary } from '../stats.js';

export interface CpuTarget {
  target: StreamTarget;
  /** The process whose CPU is charged to this path. */
  pid: number;
  /** The upstream fake, reported alongside: its CPU, and the connections it had to accept. */
  upstreamPid?: number;
  upstreamUrl?: string;
}

export interface CpuOptions {
  concurrency: number;
  answersPerRound: number;
  rounds: number;
  warmupAnswers: number;
}

export interface CpuResult {
  name: string;
  /** CPU ms of the server per answer, one sample per round. */
  cpuMsPerAnswer: Summary;
  /** CPU ms of the upstream fake per answer (when it is a separate process). */
  upstreamCpuMsPerAnswer: Summary;
  /** Client-side ms per answer, every answer. */
  latencyMs: Summary;
  answersPerSecond: Summary;
  /** New upstream TCP connections per 100 answers (a pooled client needs ~0 once warm). */
  upstreamConnectionsPer100: Summary;
  answers: number;
  incomplete: number;
  errors: string[];
}

export async function runCpu(targets: readonly CpuTarget[], options: CpuOptions): Promise<CpuResult[]> {
  const samples = targets.map(() => ({ cpu: [] as number[], upstream: [] as number[], latency: [] as number[], rate: [] as number[], connections: [] as number[], incomplete: 0, errors: [] as string[] }));
  for (const { target } of targets) await runPool(options.warmupAnswers, options.concurrency, () => timedStream(target));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const { target, pid, upstreamPid, upstreamUrl } = targets[index]!;
      const sample = samples[index]!;
      const connectionsBefore = upstreamUrl === undefined ? 0 : (await fakeStats(upstreamUrl)).connections;
      const cpuBefore = cpuSeconds(pid);
      const upstreamBefore = upstreamPid === undefined ? 0 : cpuSeconds(upstreamPid);
      const started = performance.now();
      const results = await runPool(options.answersPerRound, options.concurrency, () => timedStream(target));
      const seconds = (performance.now() - started) / 1000;
      sample.cpu.push(((cpuSeconds(pid) - cpuBefore) * 1000) / options.answersPerRound);
      if (upstreamPid !== undefined) sample.upstream.push(((cpuSeconds(upstreamPid) - upstreamBefore) * 1000) / options.answersPerRound);
      sample.rate.push(options.answersPerRound / seconds);
      if (upstreamUrl !== undefined) {
        sample.connections.push((100 * ((await fakeStats(upstreamUrl)).connections - connectionsBefore)) / options.answersPerRound);
      }
      for (const result of results) {
        sample.latency.push(result.endMs);
        if (!result.complete) {
          sample.incomplete++;
          if (result.error !== undefined && sample.errors.length < 3) sample.errors.push(result.error);
        }
      }
    }
  }
  return targets.map(({ target }, index) => {
    const sample = samples[index]!;
    return {
      name: target.name,
      cpuMsPerAnswer: summarize(sample.cpu),
      upstreamCpuMsPerAnswer: summarize(sample.upstream),
      latencyMs: summarize(sample.latency),
      answersPerSecond: summarize(sample.rate),
      upstreamConnectionsPer100: summarize(sample.connections),
      answers: options.answersPerRound * options.rounds,
      incomplete: sample.incomplete,
      errors: sample.errors,
    };
  });
}
