/**
 * Top functions by self time in one or more V8 .cpuprofile files (from `--cpu-prof`), and
 * the same time grouped by where the code lives (the gateway's own code, each package, Node
 * internals, GC). Percentages are of the busy time (everything but "(idle)").
 *
 *   node --import tsx bench/run.ts --only cpu --cpu-prof /tmp/prof
 *   node --import tsx bench/profile-top.ts /tmp/prof/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
if (positionals.length === 0) {
  process.stderr.write('usage: profile-top.ts <file.cpuprofile>… [--top N]\n');
  process.exit(2);
}

function where(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return 'gateway (dist)';
  return url;
}

function shortUrl(url: string): string {
  const modules = /node_modules\/(.+)$/.exec(url);
  if (modules) return modules[1]!;
  const dist = /\/(dist\/.+)$/.exec(url);
  if (dist) return dist[1]!;
  return url.replace(/^file:\/\//, '');
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
let total = 0;
let idle = 0;
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  for (let index = 0; index < profile.samples.length; index++) {
    // timeDeltas[i + 1] is the time spent in sample i.
    const micros = profile.timeDeltas[index + 1] ?? 0;
    const node = nodes.get(profile.samples[index]!);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    total += micros;
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const key = `${functionName || '(anonymous)'}  ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const place = where(url, functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  }
}

const busy = total - idle;
const top = Number(values.top);
const percent = (micros: number): string => `${((100 * micros) / busy).toFixed(1).padStart(5)}%`;
process.stdout.write(`profiled ${(total / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (${((100 * busy) / total).toFixed(0)}%), idle ${(idle / 1e6).toFixed(2)} s\n\n`);
process.stdout.write(`top ${top} functions by self time (% of busy):\n`);
for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${percent(micros)} ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}\n`);
}
process.stdout.write('\nself time by where the code lives (% of busy):\n');
for (const [place, micros] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  process.stdout.write(`${percent(micros)} ${(micros / 1000).toFixed(0).padStart(7)} ms  ${place}\n`);
}
