/**
 * Every server of a bench run is a child process of its own, so that CPU and memory can be
 * read per process. This module starts them, learns their ports, and makes sure none outlives
 * the run: normal end, error, SIGINT/SIGTERM, or the parent's own exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = resolve(BENCH_DIR, '..');
export const GATEWAY_CLI = join(REPO_DIR, 'dist', 'cli.js');

let gatewayCli = GATEWAY_CLI;
/** Bench another build of the gateway (default: this repo's dist/cli.js). */
export function useGatewayCli(path: string): void {
  gatewayCli = resolve(path);
}
export function currentGatewayCli(): string {
  return gatewayCli;
}

export interface Child {
  name: string;
  pid: number;
  port: number;
  url: string;
  process: ChildProcess;
  /** The last few KB the child wrote to stderr (for error reports). */
  stderr(): string;
}

const running = new Set<ChildProcess>();
let cleanupInstalled = false;

let emptyDir: string | undefined;
/** Other directories made for children (nginx's), removed when the run exits. */
const tempDirs: string[] = [];

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
    if (emptyDir !== undefined) rmSync(emptyDir, { recursive: true, force: true });
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** An empty working directory for gateways, removed when the run exits. */
function gatewayCwd(): string {
  emptyDir ??= mkdtempSync(join(tmpdir(), 'ollama-bridge-bench-'));
  return emptyDir;
}

function track(name: string, child: ChildProcess): () => string {
  installCleanup();
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-8_000);
  });
  child.on('error', (error) => {
    stderr += `\n[${name}] spawn error: ${error.message}`;
  });
  return () => stderr;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once('exit', () => resolveExit()));
}

/** Starts `node --import tsx bench/<script> args…` and waits for its `LISTENING <port>` line. */
export async function startBenchServer(name: string, script: string, args: string[], timeoutMs = 30_000): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, script), ...args], {
    cwd: REPO_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const stderr = track(name, child);
  const port = await new Promise<number>((resolvePort, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms\n${stderr()}`)), timeoutMs);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => {
      stdout += text;
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening\n${stderr()}`));
    });
  });
  return { name, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, process: child, stderr };
}

/** A port that was free a moment ago (the gateway is told its port; it does not report it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Configuration keys the gateway reads from the environment: the bench sets its own by flag. */
const GATEWAY_ENV = /^(OPENROUTER_|OLLAMA_|UPSTREAM_|USAGE|MODELS_FILTER$|HOST$|PORT$|LOG_LEVEL$|BODY_LIMIT_BYTES$|CATALOG_TTL_SECONDS$|SHUTDOWN_GRACE_MS$|NODE_OPTIONS$)/;

export interface GatewayOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: string[];
  /** Settings by environment (a build that does not know one ignores it, where a flag would stop it). */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * Starts the built gateway (`node dist/cli.js …`) on a free port, in an empty working
 * directory (no .env is read) with the gateway's own environment keys removed, its usage
 * database in that directory, and waits until it answers GET /api/version.
 */
export async function startGateway(name: string, args: string[], options: GatewayOptions = {}): Promise<Child> {
  installCleanup();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!GATEWAY_ENV.test(key)) env[key] = value;
  // Usage recorded as users run it, in the run's scratch folder rather than the home directory.
  env.USAGE_DB = join(gatewayCwd(), `${name}-usage.db`);
  Object.assign(env, options.env);
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), gatewayCli, ...args, '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'],
    { cwd: gatewayCwd(), stdio: ['pipe', 'pipe', 'pipe'], env },
  );
  const stderr = track(name, child);
  child.stdout?.resume();
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before answering\n${stderr()}`);
    }
    try {
      const response = await request(`${url}/api/version`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer within ${options.timeoutMs ?? 30_000} ms\n${stderr()}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
  return { name, pid: child.pid!, port, url, process: child, stderr };
}

/** The nginx binary to run as the reference proxy: `$NGINX`, else the usual places; undefined if none. */
export function findNginx(): string | undefined {
  const candidates = [process.env.NGINX, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx', '/usr/bin/nginx'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/**
 * nginx as a pass-through proxy to `upstream` (the reference the figures come from):
 * one process (`master_process off`, so its pid is the one doing the work), no buffering in
 * either direction, HTTP/1.1 keep-alive to the upstream. Its config and temp files live in a
 * directory of its own, removed when the run exits.
 */
export async function startNginx(name: string, binary: string, upstream: string, timeoutMs = 10_000): Promise<Child> {
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), 'ollama-bridge-bench-nginx-'));
  tempDirs.push(dir);
  const port = await freePort();
  const upstreamHost = new URL(upstream).host;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `master_process off;
daemon off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bench_upstream { server ${upstreamHost}; keepalive 2048; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_timeout 65s;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 120s;
    }
  }
}
`,
  );
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = track(name, child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before answering\n${stderr()}`);
    try {
      // Any answer through it (the fake's 404 for /) means it listens and reaches the upstream.
      const response = await request(`${url}/`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      await response.body.dump();
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs} ms\n${stderr()}`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
  return { name, pid: child.pid!, port, url, process: child, stderr };
}

/** Stops every child still running. */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited(child);
      clearTimeout(timer);
    }),
  );
}

/** Runs `node dist/cli.js --help` and returns its output ('' if it fails). */
export function gatewayHelp(): Promise<string> {
  return new Promise((resolveHelp) => {
    const child = spawn(process.execPath, [gatewayCli, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (output += text));
    child.stderr.on('data', (text: string) => (output += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolveHelp(output);
    });
    child.on('error', () => resolveHelp(''));
  });
}
