/**
 * A throwaway PostgreSQL for tests: a cluster made with Debian's binaries (initdb, pg_ctl) in a
 * temp folder, listening on a free loopback port with trust authentication, its socket in that
 * folder. initdb refuses root, so as root the cluster belongs to the `postgres` user (runuser).
 * With DATABASE_URL_FOR_TESTS set (a server CI started), that server is used instead and
 * stop/start are not available. Each test makes its own database (`createDatabase`).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** The server's URL with its default database (`postgres`). */
  readonly url: string;
  /** A fresh database, and its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: connections are cut), keeping its data. */
  stop(): void;
  /** Starts it again on the same port. */
  start(): void;
  /** Stops it and removes its folder. */
  remove(): void;
}

const BIN = process.env.POSTGRES_BIN ?? findPostgresBin();

function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return '';
  const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? '' : join(root, versions[0]!, 'bin');
}

/** Whether the tests' server can be stopped and started (not one given by DATABASE_URL_FOR_TESTS). */
export const postgresCanRestart = process.env.DATABASE_URL_FOR_TESTS === undefined;

/** Whether tests can have a PostgreSQL here (Debian's binaries, or DATABASE_URL_FOR_TESTS). */
export function postgresAvailable(): boolean {
  return process.env.DATABASE_URL_FOR_TESTS !== undefined || (BIN !== '' && existsSync(join(BIN, 'initdb')));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the cluster's owner. */
function run(binary: string, args: string[]): void {
  const command = join(BIN, binary);
  if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'pipe', cwd: '/' });
  else execFileSync(command, args, { stdio: 'pipe' });
}

let databases = 0;

export async function startTestPostgres(): Promise<TestPostgres> {
  const shared = process.env.DATABASE_URL_FOR_TESTS;
  if (shared !== undefined) return sharedServer(shared);
  const dir = mkdtempSync(join(tmpdir(), 'ollama-bridge-pg-'));
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--locale=C', '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60 -c shared_buffers=16MB`;
  let running = false;
  const start = (): void => {
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    running = true;
  };
  const stop = (): void => {
    if (!running) return;
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    running = false;
  };
  start();
  // pg_ctl's server outlives a test process that is killed or times out: stopped at its exit.
  const stopAtExit = (): void => {
    try {
      stop();
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', stopAtExit);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    createDatabase: () => createDatabase(url),
    stop,
    start,
    remove: () => {
      process.removeListener('exit', stopAtExit);
      try {
        stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function sharedServer(url: string): TestPostgres {
  const unavailable = (): never => {
    throw new Error('DATABASE_URL_FOR_TESTS is set: this test needs a server it can stop and start');
  };
  return { url, createDatabase: () => createDatabase(url), stop: unavailable, start: unavailable, remove: () => undefined };
}

async function createDatabase(serverUrl: string): Promise<string> {
  const name = `bridge_test_${process.pid}_${Date.now().toString(36)}_${++databases}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
