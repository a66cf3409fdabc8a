/**
 * A process's own accounting, read from /proc: CPU time (the scheduler's nanosecond count
 * per thread, or utime + stime in clock ticks where that is missing) and resident memory (VmRSS).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export const CLK_TCK = (() => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds the process has used so far: the scheduler's own nanosecond count of time on a
 * CPU (`/proc/<pid>/task/<tid>/schedstat`, summed over the threads), so a 2000-request round of
 * 100 µs requests is not rounded to 10 ms ticks. Falls back to utime + stime in ticks
 * (`/proc/<pid>/stat`) where schedstat is missing.
 */
export function cpuSeconds(pid: number): number {
  const precise = schedstatSeconds(pid);
  return Number.isNaN(precise) ? tickSeconds(pid) : precise;
}

/** Which CPU clock cpuSeconds() reads on this machine. */
export function cpuClock(pid = process.pid): 'schedstat' | 'ticks' {
  return Number.isNaN(schedstatSeconds(pid)) ? 'ticks' : 'schedstat';
}

function schedstatSeconds(pid: number): number {
  try {
    let nanoseconds = 0;
    for (const thread of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanoseconds += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ', 1)[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return Number.isFinite(nanoseconds) ? nanoseconds / 1e9 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function tickSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) ": index 0 is field 3 (state); utime is field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Samples a process's RSS on an interval and keeps the peak, until stopped. */
export class RssSampler {
  peak = 0;
  samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 50) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): number {
    const rss = rssBytes(this.pid);
    if (rss > this.peak) this.peak = rss;
    this.samples++;
    return rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

/** Busy and total CPU time of the whole machine so far, in ticks (/proc/stat, all CPUs). */
export function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** % of the machine's CPU that was busy (anyone's work) between two machineTicks() readings. */
export function busyPercent(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  const total = after.total - before.total;
  return total > 0 ? (100 * (after.busy - before.busy)) / total : Number.NaN;
}

/** Kernel TCP counters: listen-queue overflows and SYN retransmits (system-wide, /proc/net/netstat). */
export function tcpCounters(): { listenOverflows: number; synRetrans: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
    const keys = lines[0]?.split(' ') ?? [];
    const values = lines[1]?.split(' ') ?? [];
    const get = (key: string): number => Number(values[keys.indexOf(key)]);
    return { listenOverflows: get('ListenOverflows'), synRetrans: get('TCPSynRetrans') };
  } catch {
    return { listenOverflows: Number.NaN, synRetrans: Number.NaN };
  }
}
