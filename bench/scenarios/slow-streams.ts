/**
 * Many slow streams at once (default 1000 answers of 100 chunks, 20 ms apart), on fresh
 * connections, with no warm-up round (see `warmup`). The requests are spread over `rampMs` (default 500 ms, well under one answer's
 * 2 s, so all of them are open together): a burst of 1000 SYNs at one instant overflows the
 * default listen backlog (511) of a Node server and turns into 1 s / 3 s SYN retransmits,
 * which measures the kernel, not the proxy. Reported per path: RSS growth of the server per
 * open stream ((peak RSS − RSS just before) / streams), how many answers ended properly, each
 * answer's time from its request to its end, its first byte, the longest gap between two
 * chunks (a stall shows there), and how many answers the upstream had open at once.
 */
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import type { Agent } from 'undici';
import { createAgent, fakeStats, timedStream, type StreamResult, type StreamTarget } from '../client.js';
import { RssSampler, busyPercent, cpuSeconds, machineTicks, rssBytes, tcpCounters } from '../process-stats.js';
import { summarize, type Summary } from '../stats.js';

export interface SlowTarget {
  target: StreamTarget;
  pid: number;
  /** The upstream fake: its CPU and its count of answers open at once are reported. */
  upstreamPid: number;
  upstreamUrl: string;
}

export interface SlowOptions {
  streams: number;
  rounds: number;
  /** Pause between rounds so closed sockets are gone. */
  settleMs?: number;
  /** The requests of a round are sent over this many ms. */
  rampMs?: number;
  /**
   * One unrecorded round per path first. Default false: once a process has held N streams its
   * heap stays sized for them, so only the first round shows what holding N streams costs.
   */
  warmup?: boolean;
}

export interface SlowResult {
  name: string;
  streams: number;
  rounds: number;
  /** KB of RSS growth per open stream, one sample per round. */
  rssKBPerStream: Summary;
  /** The same in the first round: the cost of going from idle to N open streams. */
  rssKBPerStreamFirst: number;
  baselineMB: number[];
  peakMB: number[];
  /** Seconds from each request to the end of its answer. */
  answerS: Summary;
  /** Seconds from the start of the round to the end of its last answer. */
  roundS: number[];
  firstByteMs: Summary;
  maxGapMs: Summary;
  completed: number;
  total: number;
  /** CPU seconds per round: the server, the upstream fake, the load generator (this process). */
  cpuSeconds: Summary;
  upstreamCpuSeconds: Summary;
  clientCpuSeconds: Summary;
  /** Most answers the upstream fake had open at once, per round. */
  upstreamPeakOpen: number[];
  /** (server + fake + client CPU) / (round time × cores), per round. */
  benchBusyPercent: number[];
  /** The whole machine's busy CPU % per round, whoever used it: near 100%, the machine sets the pace. */
  machineBusyPercent: number[];
  /** Kernel listen-queue overflows and SYN retransmits during the round (system-wide counters). */
  listenOverflows: number[];
  synRetransmits: number[];
  errors: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

/** Sends a round's requests spread over `rampMs` and waits for every answer. */
async function sendRound(target: StreamTarget, agent: Agent, options: SlowOptions): Promise<StreamResult[]> {
  const rampMs = options.rampMs ?? 500;
  const perStep = Math.max(1, Math.ceil(options.streams / Math.max(1, rampMs / 10)));
  const pending: Array<Promise<StreamResult>> = [];
  for (let stream = 0; stream < options.streams; stream++) {
    if (stream > 0 && stream % perStep === 0) await sleep(10);
    pending.push(timedStream(target, agent));
  }
  return Promise.all(pending);
}

export async function runSlowStreams(targets: readonly SlowTarget[], options: SlowOptions): Promise<SlowResult[]> {
  if (options.warmup ?? false) {
    for (const { target } of targets) {
      await sleep(options.settleMs ?? 1_000);
      const agent = createAgent(options.streams + 100);
      await sendRound(target, agent, options);
      await agent.close();
    }
  }
  const samples = targets.map(() => ({
    rss: [] as number[], baseline: [] as number[], peak: [] as number[], end: [] as number[], round: [] as number[], first: [] as number[],
    gap: [] as number[], cpu: [] as number[], upstreamCpu: [] as number[], clientCpu: [] as number[], peakOpen: [] as number[],
    busy: [] as number[], machine: [] as number[], overflows: [] as number[], syn: [] as number[], completed: 0, total: 0, errors: [] as string[],
  }));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const { target, pid, upstreamPid, upstreamUrl } = targets[index]!;
      const sample = samples[index]!;
      await sleep(options.settleMs ?? 1_000);
      await fakeStats(upstreamUrl, true);
      const agent = createAgent(options.streams + 100);
      const baseline = rssBytes(pid);
      const cpuBefore = cpuSeconds(pid);
      const upstreamBefore = cpuSeconds(upstreamPid);
      const clientBefore = process.cpuUsage();
      const machineBefore = machineTicks();
      const tcpBefore = tcpCounters();
      const sampler = new RssSampler(pid, 50);
      const roundStart = performance.now();
      const results = await sendRound(target, agent, options);
      const roundS = (performance.now() - roundStart) / 1000;
      sample.machine.push(busyPercent(machineBefore, machineTicks()));
      const tcpAfter = tcpCounters();
      sample.overflows.push(tcpAfter.listenOverflows - tcpBefore.listenOverflows);
      sample.syn.push(tcpAfter.synRetrans - tcpBefore.synRetrans);
      sample.round.push(roundS);
      const peak = sampler.stop();
      sample.cpu.push(cpuSeconds(pid) - cpuBefore);
      sample.upstreamCpu.push(cpuSeconds(upstreamPid) - upstreamBefore);
      const client = process.cpuUsage(clientBefore);
      sample.clientCpu.push((client.user + client.system) / 1e6);
      sample.busy.push((100 * (sample.cpu.at(-1)! + sample.upstreamCpu.at(-1)! + sample.clientCpu.at(-1)!)) / (roundS * availableParallelism()));
      sample.peakOpen.push((await fakeStats(upstreamUrl)).peak);
      await agent.close();
      sample.baseline.push(baseline / 2 ** 20);
      sample.peak.push(peak / 2 ** 20);
      sample.rss.push((peak - baseline) / 1024 / options.streams);
      for (const result of results) {
        sample.total++;
        if (result.complete) sample.completed++;
        else if (result.error !== undefined && sample.errors.length < 3) sample.errors.push(result.error);
        sample.end.push(result.endMs / 1000);
        if (Number.isFinite(result.firstByteMs)) sample.first.push(result.firstByteMs);
        sample.gap.push(result.maxGapMs);
      }
    }
  }
  return targets.map(({ target }, index) => {
    const sample = samples[index]!;
    return {
      name: target.name,
      streams: options.streams,
      rounds: options.rounds,
      rssKBPerStream: summarize(sample.rss),
      rssKBPerStreamFirst: sample.rss[0] ?? Number.NaN,
      baselineMB: sample.baseline,
      peakMB: sample.peak,
      answerS: summarize(sample.end),
      roundS: sample.round,
      firstByteMs: summarize(sample.first),
      maxGapMs: summarize(sample.gap),
      completed: sample.completed,
      total: sample.total,
      cpuSeconds: summarize(sample.cpu),
      upstreamCpuSeconds: summarize(sample.upstreamCpu),
      clientCpuSeconds: summarize(sample.clientCpu),
      upstreamPeakOpen: sample.peakOpen,
      benchBusyPercent: sample.busy,
      machineBusyPercent: sample.machine,
      listenOverflows: sample.overflows,
      synRetransmits: sample.syn,
      errors: sample.errors,
    };
  });
}
