/**
 * `npm run bench`: one run starts a fake OpenRouter (SSE), a fake Ollama (NDJSON), a plain
 * pass-through proxy (node:http + undici, the floor for any Node proxy), the gateway built
 * from this repo and a static-body server, each in its own process, and measures them side
 * by side: time to first chunk, server CPU per answer, /api/tags cost, many slow streams,
 * and the reverse direction. Prints tables, writes bench/results/latest.{json,md}, exits 0
 * whatever the numbers.
 *
 *   node --import tsx bench/run.ts            full run (~2–5 min on 2 cores)
 *   node --import tsx bench/run.ts --quick    smoke run for CI (< 60 s)
 *   … --only ttfc,cpu   --cpu-prof /tmp/prof   --chunks 256 --chunk-chars 16 --pace-ms 0
 *     --slow-streams 1000 --slow-chunks 100 --slow-pace-ms 20 --abort-streams 500 --abort-pace-ms 100 --models 320 --out latest
 *     --gateway path/to/dist/cli.js (another build) --gateway-label "what it is" (for the report)
 *     --end-delay-ms 5 (the fake ends its response 5 ms after `data: [DONE]`)
 *     --no-nginx (leave out the nginx reference rows; they appear only where nginx is installed)
 *     --ledger (the CPU phase also runs a second gateway with usage recording off: the usage
 *       ledger's cost, on vs off side by side; every gateway records usage by default, as users run it)
 *   … --only workers: answers/s and CPU per answer with 1 and 2 workers, without and with Redis
 *     (redis-server, when installed), side by side
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { chatBody, closeAgent, type StreamTarget } from './client.js';
import { BENCH_DIR, currentGatewayCli, findNginx, freePort, startBenchServer, startGateway, startNginx, stopAll, useGatewayCli, type Child } from './children.js';
import { CLK_TCK, cpuClock } from './process-stats.js';
import { ollamaModelName, profileName, type StreamProfile } from './profiles.js';
import { checkTargets, renderMarkdown, writeResults, type BenchResults, type Machine } from './report.js';
import { runAbort } from './scenarios/abort.js';
import { runCpu } from './scenarios/cpu.js';
import { setUpReverse } from './scenarios/reverse.js';
import { runSlowStreams } from './scenarios/slow-streams.js';
import { runTags, type TagsTarget } from './scenarios/tags.js';
import { runTtfc } from './scenarios/ttfc.js';
import { renderWorkers, runWorkers, startRedisServer } from './scenarios/workers.js';

const PHASES = ['ttfc', 'cpu', 'tags', 'reverse', 'slow', 'abort', 'workers'] as const;
/** The name of nginx's rows, where nginx is installed (never starts with 'plain proxy' or 'gateway'). */
const NGINX_ROW = 'nginx (reference)';
type Phase = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
    chunks: { type: 'string' },
    'chunk-chars': { type: 'string' },
    'pace-ms': { type: 'string' },
    'slow-streams': { type: 'string' },
    'slow-chunks': { type: 'string' },
    'slow-pace-ms': { type: 'string' },
    'abort-streams': { type: 'string' },
    'abort-pace-ms': { type: 'string' },
    models: { type: 'string' },
    out: { type: 'string' },
    gateway: { type: 'string' },
    'end-delay-ms': { type: 'string' },
    'gateway-label': { type: 'string' },
    'no-nginx': { type: 'boolean', default: false },
    ledger: { type: 'boolean', default: false },
  },
  strict: true,
});

const quick = args.quick;
const num = (value: string | undefined, fallback: number): number => (value === undefined ? fallback : Number(value));
const settings = {
  mode: quick ? 'quick' : 'full',
  gateway: '',
  commit: '',
  models: num(args.models, 320),
  fastProfile: '',
  slowProfile: '',
  ttfcWarmup: quick ? 10 : 50,
  ttfcIterations: quick ? 40 : 300,
  cpuConcurrency: quick ? 8 : 32,
  cpuAnswersPerRound: quick ? 64 : 320,
  cpuRounds: quick ? 2 : 7,
  tagsConcurrency: quick ? 4 : 8,
  tagsRequestsPerRound: quick ? 300 : 2_000,
  tagsRounds: quick ? 2 : 9,
  slowStreams: num(args['slow-streams'], quick ? 100 : 1_000),
  slowRounds: quick ? 1 : 3,
  abortStreams: num(args['abort-streams'], quick ? 100 : 500),
  abortRounds: quick ? 1 : 3,
  abortProfile: '',
  nginx: '',
  usageLedger: args.ledger ? 'on (off in the "usage off" rows)' : 'on',
};
const fast: StreamProfile = { chunks: num(args.chunks, 256), chunkChars: num(args['chunk-chars'], 16), paceMs: num(args['pace-ms'], 0) };
const slow: StreamProfile = { chunks: num(args['slow-chunks'], 100), chunkChars: fast.chunkChars, paceMs: num(args['slow-pace-ms'], 20) };
settings.fastProfile = profileName(fast);
settings.slowProfile = profileName(slow);
// Answers long enough (60 s) that none ends before the clients hang up, at a token rate
// (10/s) that leaves the machine room to notice; --abort-pace-ms 20 saturates it instead.
const abortPaceMs = num(args['abort-pace-ms'], 100);
const abortProfile: StreamProfile = { chunks: Math.ceil(60_000 / abortPaceMs), chunkChars: fast.chunkChars, paceMs: abortPaceMs };
settings.abortProfile = profileName(abortProfile);
if (args.gateway !== undefined) useGatewayCli(args.gateway);
settings.gateway = currentGatewayCli();
settings.commit = (() => {
  if (args['gateway-label'] !== undefined) return args['gateway-label'];
  if (args.gateway !== undefined) return 'a build given with --gateway';
  try {
    const head = execFileSync('git', ['-C', BENCH_DIR, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', BENCH_DIR, 'status', '--porcelain', '--untracked-files=no', '--', '../src', '../schemas'], { encoding: 'utf8' }).trim();
    return dirty === '' ? `built from ${head}` : `built from ${head} + uncommitted changes in src/ or schemas/`;
  } catch {
    return '';
  }
})();
const nginxBinary = args['no-nginx'] ? undefined : findNginx();
settings.nginx = nginxBinary === undefined ? (args['no-nginx'] ? 'left out' : 'not installed') : nginxVersion(nginxBinary);

function nginxVersion(binary: string): string {
  // nginx prints its version on stderr.
  const { stdout, stderr } = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return /nginx\/[\d.]+/.exec(`${stderr ?? ''}${stdout ?? ''}`)?.[0] ?? 'nginx';
}

const phases = new Set<Phase>(
  args.only === undefined ? PHASES : (args.only.split(',').map((phase) => phase.trim()) as Phase[]).filter((phase) => PHASES.includes(phase)),
);

function machine(): Machine {
  const run = (command: string, commandArgs: string[]): string => {
    try {
      return execFileSync(command, commandArgs, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  let cpuModel = '';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    // not Linux
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    nproc: Number(run('nproc', [])) || 0,
    cpuModel: cpuModel || 'unknown',
    clkTck: CLK_TCK,
    cpuClock: cpuClock(),
    loadAvgStart: loadavg()[0] ?? Number.NaN,
  };
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** Waits until the gateway serves its catalog; returns the /api/tags body. */
async function waitForCatalog(gateway: Child): Promise<{ body: Buffer; models: number }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await request(`${gateway.url}/api/tags`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
      const body = Buffer.from(await response.body.arrayBuffer());
      if (response.statusCode === 200) {
        const models = ((JSON.parse(body.toString('utf8')) as { models?: unknown[] }).models ?? []).length;
        if (models > 0) return { body, models };
      }
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`the gateway did not serve its catalog within 30 s\n${gateway.stderr()}`);
    await new Promise((wake) => setTimeout(wake, 100));
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const results: BenchResults = { machine: machine(), mode: quick ? 'quick' : 'full', settings, targets: [], notes: [] };
  log(`${results.mode} mode, phases: ${[...phases].join(', ')}; gateway ${currentGatewayCli()}`);

  const fakeOpenRouter = await startBenchServer('fake-openrouter', 'fake-openrouter.ts', [
    '--models', String(settings.models), '--profile', profileName(fast), '--profile', profileName(slow),
    ...(phases.has('abort') ? ['--profile', profileName(abortProfile)] : []),
    ...(args['end-delay-ms'] === undefined ? [] : ['--end-delay-ms', args['end-delay-ms']]),
  ]);
  const proxy = await startBenchServer('plain-proxy', 'plain-proxy.ts', ['--upstream', fakeOpenRouter.url]);
  const nginx = nginxBinary === undefined ? undefined : await startNginx('nginx', nginxBinary, fakeOpenRouter.url);
  const gateway = await startGateway('gateway', ['--api-key', 'sk-bench', '--openrouter-url', `${fakeOpenRouter.url}/api/v1`], {
    nodeArgs: args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`],
  });
  const catalog = await waitForCatalog(gateway);
  // --ledger: the same gateway without the usage ledger, for the CPU phase's on/off rows.
  const gatewayWithoutUsage = args.ledger && phases.has('cpu')
    ? await startGateway('gateway-usage-off', ['--api-key', 'sk-bench', '--openrouter-url', `${fakeOpenRouter.url}/api/v1`], { env: { USAGE: 'false' } })
    : undefined;
  if (gatewayWithoutUsage !== undefined) await waitForCatalog(gatewayWithoutUsage);
  log(`gateway pid ${gateway.pid} serves ${catalog.models} models; plain proxy pid ${proxy.pid}; fake OpenRouter pid ${fakeOpenRouter.pid}; ${nginx ? `nginx pid ${nginx.pid} (reference)` : `nginx ${settings.nginx}: no reference rows`}`);

  const model = `bench/${profileName(fast)}`;
  const openRouterBody = chatBody(model, { stream: true });
  const direct: StreamTarget = { name: 'fake OpenRouter directly', url: `${fakeOpenRouter.url}/api/v1/chat/completions`, body: openRouterBody, kind: 'sse' };
  const viaProxy: StreamTarget = { name: 'plain proxy', url: `${proxy.url}/api/v1/chat/completions`, body: openRouterBody, kind: 'sse' };
  const viaGateway: StreamTarget = { name: 'gateway /api/chat', url: `${gateway.url}/api/chat`, body: chatBody(model), kind: 'ndjson' };
  const viaRelay: StreamTarget = { name: 'gateway /v1/chat/completions (relay)', url: `${gateway.url}/v1/chat/completions`, body: openRouterBody, kind: 'sse' };
  const viaNginx: StreamTarget | undefined = nginx && { name: NGINX_ROW, url: `${nginx.url}/api/v1/chat/completions`, body: openRouterBody, kind: 'sse' };
  // nginx's row in a phase that measures a process, where nginx runs.
  const nginxRows = (body: string): Array<{ target: StreamTarget; pid: number; upstreamPid: number; upstreamUrl: string }> =>
    viaNginx && nginx ? [{ target: { ...viaNginx, body }, pid: nginx.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url }] : [];

  // GET /api/tags is measured on fresh processes first and again after the streaming phases
  // (see the note the report prints).
  let tagsTargets: TagsTarget[] | undefined;
  const tagsOptions = { concurrency: settings.tagsConcurrency, requestsPerRound: settings.tagsRequestsPerRound, rounds: settings.tagsRounds, warmup: 200 };
  if (phases.has('tags')) {
    const file = join(tmpdir(), `ollama-bridge-bench-tags-${process.pid}.json`);
    writeFileSync(file, catalog.body);
    const [staticServer, staticCopy] = await Promise.all([
      startBenchServer('static-server', 'static-server.ts', ['--file', file]),
      startBenchServer('static-server-copy', 'static-server.ts', ['--file', file]),
    ]).finally(() => rmSync(file, { force: true }));
    tagsTargets = [
      { name: 'static cached body (node:http)', url: `${staticServer.url}/api/tags`, pid: staticServer.pid },
      { name: 'the same static server, a second process (control)', url: `${staticCopy.url}/api/tags`, pid: staticCopy.pid },
      { name: 'gateway /api/tags', url: `${gateway.url}/api/tags`, pid: gateway.pid },
    ];
    if (phases.has('ttfc') || phases.has('cpu')) {
      log('/api/tags, fresh processes…');
      results.tags = { models: catalog.models, bodyBytes: catalog.body.length, results: await runTags(tagsTargets, tagsOptions) };
    }
  }
  if (phases.has('ttfc')) {
    log('time to first chunk…');
    results.ttfc = await runTtfc([direct, ...(viaNginx ? [viaNginx] : []), viaProxy, viaGateway], { warmup: settings.ttfcWarmup, iterations: settings.ttfcIterations });
  }
  if (phases.has('cpu')) {
    log('CPU per answer…');
    results.cpu = await runCpu(
      [
        { target: direct, pid: fakeOpenRouter.pid },
        ...nginxRows(openRouterBody),
        { target: viaProxy, pid: proxy.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
        { target: viaGateway, pid: gateway.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
        { target: viaRelay, pid: gateway.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
        ...(gatewayWithoutUsage === undefined ? [] : [
          { target: { ...viaGateway, name: `${viaGateway.name}, usage off`, url: `${gatewayWithoutUsage.url}/api/chat` }, pid: gatewayWithoutUsage.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
          { target: { ...viaRelay, name: `${viaRelay.name}, usage off`, url: `${gatewayWithoutUsage.url}/v1/chat/completions` }, pid: gatewayWithoutUsage.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
        ]),
      ],
      { concurrency: settings.cpuConcurrency, answersPerRound: settings.cpuAnswersPerRound, rounds: settings.cpuRounds, warmupAnswers: settings.cpuConcurrency * 2 },
    );
    results.notes.push('CPU rows: "server" is the process the path ends in (the fake itself for the direct row). CPU is the scheduler\'s own count of time on a CPU, summed over the process\'s threads (/proc/<pid>/task/*/schedstat, nanoseconds; utime+stime in 1/CLK_TCK s ticks where that is missing), divided by the answers of the round.');
  }
  if (tagsTargets !== undefined) {
    log(results.tags === undefined ? '/api/tags…' : '/api/tags, after the streaming phases…');
    const tags = await runTags(tagsTargets, tagsOptions);
    if (results.tags !== undefined) results.tagsFresh = results.tags;
    results.tags = { models: catalog.models, bodyBytes: catalog.body.length, results: tags };
    results.notes.push('/api/tags: the second static server is a copy of the first, a control for the noise between two identical processes. In a full run the tags phase runs twice: first on fresh processes, then after the gateway has streamed the TTFC and CPU phases\' answers; the target is judged on the second.');
  }
  if (phases.has('reverse')) {
    log('reverse direction…');
    const fakeOllama = await startBenchServer('fake-ollama', 'fake-ollama.ts', ['--profile', profileName(fast), '--profile', profileName(slow)]);
    const setup = await setUpReverse({
      fakeOllamaUrl: fakeOllama.url,
      fakeOpenRouterUrl: fakeOpenRouter.url,
      ollamaModel: ollamaModelName(fast),
      profileHint: profileName(fast),
    });
    if (!setup.available) {
      results.reverse = { available: false, reason: setup.reason };
      log(`reverse direction: ${setup.reason}`);
    } else {
      const ollamaProxy = await startBenchServer('plain-proxy-ollama', 'plain-proxy.ts', ['--upstream', fakeOllama.url]);
      const ollamaNginx = nginxBinary === undefined ? undefined : await startNginx('nginx-ollama', nginxBinary, fakeOllama.url);
      const ollamaBody = chatBody(ollamaModelName(fast));
      const ollamaDirect: StreamTarget = { name: 'fake Ollama directly', url: `${fakeOllama.url}/api/chat`, body: ollamaBody, kind: 'ndjson' };
      const ollamaViaProxy: StreamTarget = { name: 'plain proxy (NDJSON)', url: `${ollamaProxy.url}/api/chat`, body: ollamaBody, kind: 'ndjson' };
      const ollamaViaNginx: StreamTarget | undefined = ollamaNginx && { name: NGINX_ROW, url: `${ollamaNginx.url}/api/chat`, body: ollamaBody, kind: 'ndjson' };
      results.reverse = {
        available: true,
        gatewayArgs: setup.args,
        ttfc: await runTtfc([ollamaDirect, ...(ollamaViaNginx ? [ollamaViaNginx] : []), ollamaViaProxy, setup.target], { warmup: settings.ttfcWarmup, iterations: settings.ttfcIterations }),
        cpu: await runCpu(
          [
            { target: ollamaDirect, pid: fakeOllama.pid },
            ...(ollamaViaNginx && ollamaNginx ? [{ target: ollamaViaNginx, pid: ollamaNginx.pid, upstreamPid: fakeOllama.pid, upstreamUrl: fakeOllama.url }] : []),
            { target: ollamaViaProxy, pid: ollamaProxy.pid, upstreamPid: fakeOllama.pid, upstreamUrl: fakeOllama.url },
            { target: setup.target, pid: setup.gateway.pid, upstreamPid: fakeOllama.pid, upstreamUrl: fakeOllama.url },
          ],
          { concurrency: settings.cpuConcurrency, answersPerRound: settings.cpuAnswersPerRound, rounds: settings.cpuRounds, warmupAnswers: settings.cpuConcurrency * 2 },
        ),
      };
    }
  }
  if (phases.has('slow')) {
    log(`${settings.slowStreams} slow streams…`);
    const slowModel = `bench/${profileName(slow)}`;
    results.slow = await runSlowStreams(
      [
        ...nginxRows(chatBody(slowModel, { stream: true })),
        { target: { ...viaProxy, body: chatBody(slowModel, { stream: true }) }, pid: proxy.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
        { target: { ...viaGateway, body: chatBody(slowModel) }, pid: gateway.pid, upstreamPid: fakeOpenRouter.pid, upstreamUrl: fakeOpenRouter.url },
      ],
      { streams: settings.slowStreams, rounds: settings.slowRounds },
    );
    results.notes.push('Slow streams: the requests of a round are spread over 500 ms on fresh client connections (a 1000-SYN burst overflows a Node server\'s default listen backlog of 511); RSS growth is (peak VmRSS during the round − VmRSS just before) / streams; "answer end" is each request\'s time to the end of its answer (ideal ≈ 101 × 20 ms).');
  }

  if (phases.has('abort')) {
    log(`${settings.abortStreams} clients aborting at once…`);
    const abortModel = `bench/${profileName(abortProfile)}`;
    const sseBody = chatBody(abortModel, { stream: true });
    results.abort = await runAbort(
      [
        ...nginxRows(sseBody),
        { target: { ...viaProxy, body: sseBody }, pid: proxy.pid, upstreamUrl: fakeOpenRouter.url },
        { target: { ...viaGateway, body: chatBody(abortModel) }, pid: gateway.pid, upstreamUrl: fakeOpenRouter.url },
        { target: { name: 'gateway /v1/chat/completions (relay)', url: `${gateway.url}/v1/chat/completions`, body: sseBody, kind: 'sse' }, pid: gateway.pid, upstreamUrl: fakeOpenRouter.url },
      ],
      { streams: settings.abortStreams, rounds: settings.abortRounds },
    );
    results.notes.push('Abort: all streams of a round are open and streaming (first bytes received, then 500 ms more), then the client aborts them in one loop; "abort → upstream close" is each request\'s time from its own abort to the fake upstream seeing its connection close, both read from `performance.timeOrigin + now()` in their own processes.');
  }

  if (phases.has('workers')) {
    log('workers and the shared store…');
    results.workers = await benchWorkers(fakeOpenRouter.url, `bench/${profileName(fast)}`);
    results.notes.push('Workers: every gateway of this phase has the same limits (requests and tokens per minute, far above the load) and a default budget, so each answer is admitted, counted and charged: in memory, or in Redis (a Lua script per request, INCRBYFLOAT per answer). CPU is the primary\'s and its workers\' together; on a 2-core machine the client shares the cores, so 2 workers cannot double the rate.');
  }

  if (nginx) {
    results.notes.push(`${NGINX_ROW}: ${settings.nginx} as a plain pass-through proxy (one process, no buffering, keep-alive upstream), the reference the targets were set against. The "× proxy" columns and the targets compare with the Node proxy, the floor for any Node server.`);
  }
  results.notes.push('TTFC is request start → the first chunk carrying answer text (a non-empty `"content"`), the same on every path. The fake sends its `: OPENROUTER PROCESSING` comment first; the gateway holds its headers until the first content event, so its first byte is its first content line.');
  results.targets = checkTargets(results);
  results.durationS = (performance.now() - started) / 1000;
  results.machine.loadAvgEnd = loadavg()[0];
  const markdown = renderMarkdown(results) + (results.workers === undefined ? '' : `\n${renderWorkers(results.workers, settings.cpuConcurrency)}`);
  process.stdout.write(`\n${markdown}`);
  // Only a full run of every phase replaces the reference numbers; quick and partial runs write beside them.
  const defaultName = quick ? 'latest-quick' : args.only !== undefined || args['cpu-prof'] !== undefined ? 'latest-partial' : 'latest';
  // --out NAME writes bench/results/NAME.{json,md}; a path (relative to bench/results, or absolute) writes there.
  const out = resolve(BENCH_DIR, 'results', args.out ?? defaultName);
  const files = writeResults(dirname(out), basename(out), results, markdown);
  log(`wrote ${files.join(', ')}`);
}

/** The workers phase's gateways (1 and 2 workers, without and with Redis), each waited for until every worker serves. */
async function benchWorkers(fakeOpenRouterUrl: string, model: string): Promise<NonNullable<BenchResults['workers']>> {
  const limits = ['--rate-limit-rpm', '100000000', '--rate-limit-tpm', '1000000000', '--budget-usd', '1000000'];
  const base = ['--api-key', 'sk-bench', '--openrouter-url', `${fakeOpenRouterUrl}/api/v1`, ...limits];
  const redis = await startRedisServer(await freePort());
  if (redis === undefined) log('redis-server is not installed: no Redis rows');
  const setups = [
    { name: '1 worker', args: [] as string[], workers: 1 },
    { name: '2 workers', args: ['--workers', '2'], workers: 2 },
    ...(redis === undefined ? [] : [
      { name: '1 worker + Redis', args: ['--redis-url', redis.url], workers: 1 },
      { name: '2 workers + Redis', args: ['--workers', '2', '--redis-url', redis.url], workers: 2 },
    ]),
  ];
  const targets = [];
  for (const setup of setups) {
    const child = await startGateway(`gateway-${setup.name.replace(/\W+/g, '-')}`, [...base, ...setup.args]);
    await waitForCatalog(child);
    await waitForWorkers(child, setup.workers);
    targets.push({
      name: setup.name,
      target: { name: setup.name, url: `${child.url}/api/chat`, body: chatBody(model), kind: 'ndjson' as const },
      pid: child.pid,
      ...(redis !== undefined && setup.args.includes('--redis-url') ? { redisPid: redis.pid } : {}),
    });
  }
  return runWorkers(targets, { concurrency: settings.cpuConcurrency, answersPerRound: settings.cpuAnswersPerRound, rounds: settings.cpuRounds, warmupAnswers: settings.cpuConcurrency * 2 });
}

/** Until `count` different workers have answered (x-ollama-bridge-worker), each request on a new connection. */
async function waitForWorkers(gateway: Child, count: number): Promise<void> {
  if (count === 1) return;
  const seen = new Set<string>();
  const deadline = Date.now() + 60_000;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`${gateway.name}: ${count} workers did not answer within 60 s\n${gateway.stderr()}`);
    const response = await request(`${gateway.url}/api/version`, { headers: { connection: 'close' }, headersTimeout: 5_000, bodyTimeout: 5_000 }).catch(() => undefined);
    await response?.body.dump();
    const worker = response?.headers['x-ollama-bridge-worker'];
    if (typeof worker === 'string') seen.add(worker);
    else await new Promise((wake) => setTimeout(wake, 100));
  }
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping the servers`);
    void stopAll(2_000).finally(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await closeAgent().catch(() => undefined);
    await stopAll();
  });
