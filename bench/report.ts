/**
 * Results → the printed tables, the target checks, and bench/results/<name>.{json,md}.
 * Targets are reported, never enforced: a bench run exits 0 whatever the numbers.
 */
import type { WorkersResult } from './scenarios/workers.js';
import { renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AbortResult } from './scenarios/abort.js';
import type { CpuResult } from './scenarios/cpu.js';
import type { SlowResult } from './scenarios/slow-streams.js';
import type { TagsResult } from './scenarios/tags.js';
import type { TtfcResult } from './scenarios/ttfc.js';
import { fmt, percentile as percentileOf } from './stats.js';

export interface Machine {
  date: string;
  node: string;
  nproc: number;
  cpuModel: string;
  clkTck: number;
  /** Which CPU clock the CPU figures come from: schedstat (ns) or ticks. */
  cpuClock?: 'schedstat' | 'ticks';
  /** 1-minute load average at the start and the end of the run (others' work shows here). */
  loadAvgStart: number;
  loadAvgEnd?: number;
}

export interface BenchResults {
  machine: Machine;
  mode: 'full' | 'quick';
  settings: Record<string, unknown>;
  durationS?: number;
  ttfc?: TtfcResult[];
  cpu?: CpuResult[];
  /** GET /api/tags; after the streaming phases when they ran. */
  tags?: { models: number; bodyBytes: number; results: TagsResult[] };
  /** GET /api/tags on fresh processes, before the streaming phases (full runs). */
  tagsFresh?: { models: number; bodyBytes: number; results: TagsResult[] };
  slow?: SlowResult[];
  abort?: AbortResult[];
  reverse?: { available: boolean; reason?: string; gatewayArgs?: string[]; ttfc?: TtfcResult[]; cpu?: CpuResult[] };
  /** 1 and 2 workers, without and with Redis (bench/scenarios/workers.ts). */
  workers?: WorkersResult[];
  targets: TargetCheck[];
  notes: string[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  limit: string;
  /** null: not measured in this run. */
  pass: boolean | null;
}

/** A setting read back from JSON (a string or a number), or nothing. */
function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const find = <T extends { name: string }>(items: readonly T[] | undefined, prefix: string): T | undefined =>
  items?.find((item) => item.name.startsWith(prefix));

export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const gatewayTtfc = find(results.ttfc, 'gateway');
  checks.push({
    target: 'TTFC added over the fake directly, p50',
    measured: gatewayTtfc ? `${fmt(gatewayTtfc.addedP50Ms, 3)} ms` : '–',
    limit: '≤ 0.5 ms',
    pass: gatewayTtfc ? gatewayTtfc.addedP50Ms <= 0.5 : null,
  });
  const cpuProxy = find(results.cpu, 'plain proxy');
  const cpuGateway = find(results.cpu, 'gateway');
  const cpuRatio = cpuProxy && cpuGateway ? cpuGateway.cpuMsPerAnswer.p50 / cpuProxy.cpuMsPerAnswer.p50 : Number.NaN;
  checks.push({
    target: `CPU per ${shown(results.settings.fastProfile)} answer at ${shown(results.settings.cpuConcurrency)} streams, × plain proxy (p50)`,
    measured: cpuGateway ? `${fmt(cpuRatio)}× (${fmt(cpuGateway.cpuMsPerAnswer.p50, 3)} vs ${fmt(cpuProxy?.cpuMsPerAnswer.p50, 3)} ms)` : '–',
    limit: '≤ 2×',
    pass: cpuGateway && cpuProxy ? cpuRatio <= 2 : null,
  });
  // --ledger: each gateway path with the usage ledger on, against the same path in a gateway with it off.
  for (const on of results.cpu?.filter((result) => result.name.startsWith('gateway') && !result.name.endsWith(', usage off')) ?? []) {
    const off = results.cpu?.find((result) => result.name === `${on.name}, usage off`);
    if (off === undefined) continue;
    const ratio = on.cpuMsPerAnswer.p50 / off.cpuMsPerAnswer.p50;
    checks.push({
      target: `CPU per answer, ${on.name}: usage ledger on vs off (p50)`,
      measured: `${fmt(100 * (ratio - 1), 1)} % (${fmt(on.cpuMsPerAnswer.p50, 3)} vs ${fmt(off.cpuMsPerAnswer.p50, 3)} ms)`,
      limit: '≤ +5 %',
      pass: ratio <= 1.05,
    });
  }
  const slowProxy = find(results.slow, 'plain proxy');
  const slowGateway = find(results.slow, 'gateway');
  const streams = slowGateway?.streams ?? 0;
  checks.push({
    target: `${streams || 1000} slow streams: RSS growth per open stream (first round)`,
    measured: slowGateway ? `${fmt(slowGateway.rssKBPerStreamFirst, 1)} KB (plain proxy ${fmt(slowProxy?.rssKBPerStreamFirst, 1)} KB)` : '–',
    limit: '≤ 30 KB',
    pass: slowGateway ? slowGateway.rssKBPerStreamFirst <= 30 : null,
  });
  checks.push({
    target: `${streams || 1000} slow streams: every stream complete`,
    measured: slowGateway ? `${slowGateway.completed}/${slowGateway.total}` : '–',
    limit: 'all',
    pass: slowGateway ? slowGateway.completed === slowGateway.total : null,
  });
  const endRatio = slowGateway && slowProxy ? slowGateway.answerS.p99 / slowProxy.answerS.p99 : Number.NaN;
  checks.push({
    target: `${streams || 1000} slow streams: p99 end time × plain proxy`,
    measured: slowGateway && slowProxy ? `${fmt(endRatio)}× (${fmt(slowGateway.answerS.p99)} vs ${fmt(slowProxy.answerS.p99)} s)` : '–',
    limit: '≤ 1.25×',
    pass: slowGateway && slowProxy ? endRatio <= 1.25 : null,
  });
  const abortGateway = results.abort?.filter((result) => result.name.startsWith('gateway'));
  if (abortGateway !== undefined && abortGateway.length > 0) {
    const worst = Math.max(...abortGateway.map((result) => result.closeMs.p99));
    const closed = abortGateway.every((result) => result.closed === result.total && result.total > 0);
    checks.push({
      target: `${abortGateway[0]!.streams} clients aborting at once: every upstream request closed, p99 abort → close`,
      measured: `${abortGateway.map((result) => `${result.closed}/${result.total}`).join(', ')} closed; ${fmt(worst, 0)} ms (plain proxy ${fmt(find(results.abort, 'plain proxy')?.closeMs.p99, 0)} ms)`,
      limit: 'all, ≤ 1000 ms',
      pass: closed && worst <= 1000,
    });
  }
  const tagsStatic = find(results.tags?.results, 'static');
  const tagsGateway = find(results.tags?.results, 'gateway');
  const tagsRatio = tagsStatic && tagsGateway ? tagsGateway.cpuUsPerRequest.p50 / tagsStatic.cpuUsPerRequest.p50 : Number.NaN;
  checks.push({
    target: `/api/tags (${results.tags?.models ?? '300+'} models): CPU per request × static cached body (p50)`,
    measured: tagsGateway ? `${fmt(tagsRatio)}× (${fmt(tagsGateway.cpuUsPerRequest.p50, 0)} vs ${fmt(tagsStatic?.cpuUsPerRequest.p50, 0)} µs)` : '–',
    limit: '≤ 1×',
    pass: tagsGateway && tagsStatic ? tagsRatio <= 1 : null,
  });
  if (results.reverse?.available) {
    const reverseTtfc = find(results.reverse.ttfc, 'gateway');
    checks.push({
      target: 'reverse: TTFC added over the fake Ollama directly, p50 (same limit)',
      measured: reverseTtfc ? `${fmt(reverseTtfc.addedP50Ms, 3)} ms` : '–',
      limit: '≤ 0.5 ms',
      pass: reverseTtfc ? reverseTtfc.addedP50Ms <= 0.5 : null,
    });
    const proxy = find(results.reverse.cpu, 'plain proxy');
    const gateway = find(results.reverse.cpu, 'gateway');
    const ratio = proxy && gateway ? gateway.cpuMsPerAnswer.p50 / proxy.cpuMsPerAnswer.p50 : Number.NaN;
    checks.push({
      target: 'reverse: CPU per answer × plain proxy of NDJSON (same limit)',
      measured: gateway ? `${fmt(ratio)}× (${fmt(gateway.cpuMsPerAnswer.p50, 3)} vs ${fmt(proxy?.cpuMsPerAnswer.p50, 3)} ms)` : '–',
      limit: '≤ 2×',
      pass: proxy && gateway ? ratio <= 2 : null,
    });
  }
  return checks;
}

function ttfcTable(results: readonly TtfcResult[]): string {
  const proxy = find(results, 'plain proxy');
  return table(
    ['path', 'first text chunk p50 ms', 'p99 ms', 'added over direct p50 ms', 'p99 ms', 'added over proxy p50 ms', 'first byte p50 ms', 'whole answer p50 ms', 'p99 ms', 'incomplete'],
    results.map((result, index) => [
      result.name,
      fmt(result.firstTokenMs.p50, 3),
      fmt(result.firstTokenMs.p99, 3),
      index === 0 ? '–' : fmt(result.addedP50Ms, 3),
      index === 0 ? '–' : fmt(result.addedP99Ms, 3),
      proxy && index > 0 && result !== proxy ? fmt(result.firstTokenMs.p50 - proxy.firstTokenMs.p50, 3) : '–',
      fmt(result.firstByteMs.p50, 3),
      fmt(result.endMs.p50, 2),
      fmt(result.endMs.p99, 2),
      String(result.incomplete),
    ]),
  );
}

function cpuTable(results: readonly CpuResult[]): string {
  const proxy = find(results, 'plain proxy');
  return table(
    ['path', 'server CPU/answer p50 ms', 'p99 ms', '× proxy', 'fake CPU/answer p50 ms', 'new upstream conns /100 answers', 'answers/s p50', 'latency p50 ms', 'p99 ms', 'incomplete'],
    results.map((result) => [
      result.name,
      fmt(result.cpuMsPerAnswer.p50, 3),
      fmt(result.cpuMsPerAnswer.p99, 3),
      proxy && result !== proxy && !result.name.startsWith('fake') ? fmt(result.cpuMsPerAnswer.p50 / proxy.cpuMsPerAnswer.p50) : '–',
      fmt(result.upstreamCpuMsPerAnswer.p50, 3),
      fmt(result.upstreamConnectionsPer100.p50, 1),
      fmt(result.answersPerSecond.p50, 0),
      fmt(result.latencyMs.p50, 2),
      fmt(result.latencyMs.p99, 2),
      `${result.incomplete}/${result.answers}`,
    ]),
  );
}

function tagsTable(results: readonly TagsResult[]): string {
  const reference = find(results, 'static');
  return table(
    ['server', 'CPU/request p50 µs', 'p99 µs', '× static', 'latency p50 ms', 'p99 ms', 'body bytes', 'failures'],
    results.map((result) => [
      result.name,
      fmt(result.cpuUsPerRequest.p50, 1),
      fmt(result.cpuUsPerRequest.p99, 1),
      reference && result !== reference ? fmt(result.cpuUsPerRequest.p50 / reference.cpuUsPerRequest.p50) : '–',
      fmt(result.latencyMs.p50, 3),
      fmt(result.latencyMs.p99, 3),
      String(result.bytes),
      String(result.failures),
    ]),
  );
}

function slowTable(results: readonly SlowResult[]): string {
  const proxy = find(results, 'plain proxy');
  return table(
    ['path', 'RSS/stream first round KB', 'later rounds p50 KB', 'RSS before→peak MB', 'complete', 'answer end p50 s', 'p99 s', '× proxy p99', 'first byte p99 ms', 'max gap p99 ms', 'upstream open at once', 'CPU s/round server / fake / client', 'CPU busy: bench / machine', 'listen overflows'],
    results.map((result) => [
      result.name,
      fmt(result.rssKBPerStreamFirst, 1),
      result.rounds > 1 ? fmt(percentileOf(result.baselineMB.slice(1).map((value, index) => ((result.peakMB[index + 1] ?? value) - value) * 1024 / result.streams), 50), 1) : '–',
      result.baselineMB.map((value, index) => `${value.toFixed(0)}→${(result.peakMB[index] ?? Number.NaN).toFixed(0)}`).join(', '),
      `${result.completed}/${result.total}`,
      fmt(result.answerS.p50),
      fmt(result.answerS.p99),
      proxy && result !== proxy ? fmt(result.answerS.p99 / proxy.answerS.p99) : '–',
      fmt(result.firstByteMs.p99, 1),
      fmt(result.maxGapMs.p99, 1),
      result.upstreamPeakOpen.join(', '),
      `${fmt(result.cpuSeconds.p50)} / ${fmt(result.upstreamCpuSeconds.p50)} / ${fmt(result.clientCpuSeconds.p50)}`,
      result.benchBusyPercent.map((value, index) => `${value.toFixed(0)}/${(result.machineBusyPercent[index] ?? Number.NaN).toFixed(0)}%`).join(', '),
      result.listenOverflows.join(', '),
    ]),
  );
}

function abortTable(results: readonly AbortResult[]): string {
  return table(
    ['path', 'upstream closed', 'abort → upstream close p50 ms', 'p99 ms', 'max ms', 'p99 per round ms', 'client abort loop ms', 'server CPU s from aborts to last close', 'not started'],
    results.map((result) => [
      result.name,
      `${result.closed}/${result.total}`,
      fmt(result.closeMs.p50, 1),
      fmt(result.closeMs.p99, 1),
      fmt(result.closeMs.max, 1),
      result.roundP99Ms.map((value) => fmt(value, 0)).join(', '),
      result.abortLoopMs.map((value) => fmt(value, 0)).join(', '),
      result.cpuSeconds.map((value) => fmt(value, 3)).join(', '),
      String(result.failedToStart),
    ]),
  );
}

export function renderMarkdown(results: BenchResults): string {
  const { machine, settings } = results;
  const parts: string[] = [];
  parts.push(`## ollama-bridge bench (${results.mode} mode)`);
  parts.push(
    `${machine.date} · node ${machine.node} · nproc ${machine.nproc} · ${machine.cpuModel} · CPU clock ${machine.cpuClock ?? 'ticks'} (CLK_TCK ${machine.clkTck})` +
      (results.durationS === undefined ? '' : ` · run took ${results.durationS.toFixed(0)} s`) +
      ` · load average ${machine.loadAvgStart.toFixed(2)} at start, ${fmt(machine.loadAvgEnd)} at end`,
  );
  parts.push(`Gateway: ${String(settings.gateway)}${settings.commit ? ` (${shown(settings.commit)})` : ''}`);
  parts.push(`Settings: ${Object.entries(settings).filter(([key]) => key !== 'gateway' && key !== 'commit').map(([key, value]) => `${key}=${String(value)}`).join(', ')}`);
  if (results.ttfc) {
    parts.push(`### Time to first chunk (sequential, upstream pace 0; first chunk carrying answer text)\n\n${ttfcTable(results.ttfc)}`);
  }
  if (results.cpu) {
    parts.push(`### Server CPU per streamed answer (${String(settings.cpuConcurrency)} concurrent, pace 0; p50/p99 over rounds)\n\n${cpuTable(results.cpu)}`);
  }
  if (results.tagsFresh) {
    parts.push(`### GET /api/tags with ${results.tagsFresh.models} models (${results.tagsFresh.bodyBytes} bytes), fresh processes\n\n${tagsTable(results.tagsFresh.results)}`);
  }
  if (results.tags) {
    const when = results.tagsFresh ? ', after the streaming phases' : '';
    parts.push(`### GET /api/tags with ${results.tags.models} models (${results.tags.bodyBytes} bytes)${when}\n\n${tagsTable(results.tags.results)}`);
  }
  if (results.slow) {
    parts.push(`### ${String(settings.slowStreams)} concurrent slow streams (${String(settings.slowProfile)}; times: p50/p99 over all streams of all rounds)\n\n${slowTable(results.slow)}`);
  }
  if (results.abort) {
    parts.push(`### ${String(settings.abortStreams)} clients aborting at once (${String(settings.abortProfile)}; p50/p99 over all streams of all rounds)\n\n${abortTable(results.abort)}`);
  }
  if (results.reverse) {
    if (!results.reverse.available) {
      parts.push(`### Reverse direction (OpenAI front door over an Ollama upstream)\n\nreverse direction: ${results.reverse.reason ?? 'not available in this build'}`);
    } else {
      const sections = [`### Reverse direction (OpenAI front door over an Ollama upstream; gateway ${results.reverse.gatewayArgs?.join(' ') ?? ''})`];
      if (results.reverse.ttfc) sections.push(ttfcTable(results.reverse.ttfc));
      if (results.reverse.cpu) sections.push(cpuTable(results.reverse.cpu));
      parts.push(sections.join('\n\n'));
    }
  }
  parts.push(
    `### Targets (reported, not enforced)\n\n${table(
      ['target', 'measured', 'limit', 'result'],
      results.targets.map((check) => [check.target, check.measured, check.limit, check.pass === null ? 'n/a' : check.pass ? 'PASS' : 'MISS']),
    )}`,
  );
  if (results.notes.length > 0) parts.push(`Notes:\n${results.notes.map((note) => `- ${note}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/** Writes <dir>/<name>.json and <name>.md (via .tmp files, renamed into place). */
export function writeResults(dir: string, name: string, results: BenchResults, markdown: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    [join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`],
    [join(dir, `${name}.md`), markdown],
  ];
  for (const [path, text] of files) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return files.map(([path]) => path);
}
