/**
 * `--workers` and the shared store side by side: answers per second and server CPU per
 * answer for gateways with 1 and 2 workers, each without and with Redis (`--redis-url`), all
 * with the same request and token limits and a default budget so every answer checks and
 * counts them (in memory, or by a Lua script and INCRBYFLOAT in Redis). A gateway's CPU is
 * its primary's and its workers' together (and, on the Redis rows, redis-server's, shown
 * apart). Rounds alternate between the gateways; median and p99 are over rounds.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { runPool, timedStream, type StreamTarget } from '../client.js';
import { cpuSeconds } from '../process-stats.js';
import { fmt, summarize, type Summary } from '../stats.js';

export interface WorkersTarget {
  name: string;
  target: StreamTarget;
  /** The gateway's process (the primary, with --workers 2). */
  pid: number;
  /** redis-server's pid on the Redis rows. */
  redisPid?: number;
}

export interface WorkersOptions {
  concurrency: number;
  answersPerRound: number;
  rounds: number;
  warmupAnswers: number;
}

export interface WorkersResult {
  name: string;
  answersPerSecond: Summary;
  /** The gateway's processes (primary and workers), ms per answer. */
  cpuMsPerAnswer: Summary;
  /** redis-server's, ms per answer (Redis rows). */
  redisCpuMsPerAnswer: Summary;
  answers: number;
  incomplete: number;
  errors: string[];
}

/** A process and its children (a primary and its workers). */
function processTree(pid: number): number[] {
  try {
    const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter((line) => line !== '').map(Number);
    return [pid, ...children];
  } catch {
    return [pid];
  }
}

function treeCpuSeconds(pid: number): number {
  let total = 0;
  for (const member of processTree(pid)) {
    try {
      total += cpuSeconds(member);
    } catch {
      // gone between pgrep and the read
    }
  }
  return total;
}

export async function runWorkers(targets: readonly WorkersTarget[], options: WorkersOptions): Promise<WorkersResult[]> {
  const samples = targets.map(() => ({ cpu: [] as number[], redis: [] as number[], rate: [] as number[], incomplete: 0, errors: [] as string[] }));
  for (const { target } of targets) await runPool(options.warmupAnswers, options.concurrency, () => timedStream(target));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const { target, pid, redisPid } = targets[index]!;
      const sample = samples[index]!;
      const cpuBefore = treeCpuSeconds(pid);
      const redisBefore = redisPid === undefined ? 0 : cpuSeconds(redisPid);
      const started = performance.now();
      const results = await runPool(options.answersPerRound, options.concurrency, () => timedStream(target));
      const seconds = (performance.now() - started) / 1000;
      sample.cpu.push(((treeCpuSeconds(pid) - cpuBefore) * 1000) / options.answersPerRound);
      if (redisPid !== undefined) sample.redis.push(((cpuSeconds(redisPid) - redisBefore) * 1000) / options.answersPerRound);
      sample.rate.push(options.answersPerRound / seconds);
      for (const result of results) {
        if (result.complete) continue;
        sample.incomplete++;
        if (result.error !== undefined && sample.errors.length < 3) sample.errors.push(result.error);
      }
    }
  }
  return targets.map(({ name }, index) => {
    const sample = samples[index]!;
    return {
      name,
      answersPerSecond: summarize(sample.rate),
      cpuMsPerAnswer: summarize(sample.cpu),
      redisCpuMsPerAnswer: summarize(sample.redis),
      answers: options.answersPerRound * options.rounds,
      incomplete: sample.incomplete,
      errors: sample.errors,
    };
  });
}

export function renderWorkers(results: readonly WorkersResult[], concurrency: number): string {
  const lines = [
    `## Workers and the shared store (streamed /api/chat answers, ${concurrency} at once)`,
    '',
    '| gateway | answers/s p50 | answers/s, slowest round | gateway CPU ms/answer p50 | p99 | redis-server CPU ms/answer p50 | incomplete |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    lines.push(`| ${result.name} | ${fmt(result.answersPerSecond.p50, 0)} | ${fmt(result.answersPerSecond.min, 0)} | ${fmt(result.cpuMsPerAnswer.p50)} | ${fmt(result.cpuMsPerAnswer.p99)} | ${fmt(result.redisCpuMsPerAnswer.p50)} | ${result.incomplete} |`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Debian's redis-server, or the one REDIS_SERVER_BIN names. */
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';

/** A throwaway redis-server on a port (nothing saved); undefined where none is installed. */
export async function startRedisServer(port: number): Promise<{ url: string; pid: number; process: ChildProcess } | undefined> {
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const ready = await new Promise<boolean>((resolve) => {
    let output = '';
    child.once('error', () => resolve(false));
    child.once('exit', () => resolve(false));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
      if (output.includes('Ready to accept connections')) resolve(true);
    });
  });
  if (!ready || child.pid === undefined) return undefined;
  // It must not keep the run alive: it is killed when the run exits.
  child.stdout.resume();
  (child.stdout as unknown as { unref(): void }).unref();
  child.unref();
  process.on('exit', () => child.kill('SIGKILL'));
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid, process: child };
}
