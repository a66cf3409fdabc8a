/**
 * Several gateways behind nginx, as the README's docker-compose example runs them: 2–3
 * `ollama-bridge serve` processes on their own loopback ports sharing one keys file, one Redis
 * and one PostgreSQL, and Debian's nginx in front of them, round-robin, its pid, logs and
 * temp files in a temp folder, proxying as examples/nginx.conf does. Everything listens on
 * 127.0.0.1 only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { FAKE_API_KEY } from '../fakes/fake-openrouter.js';
import { spawnCli, type RunningCli } from '../helpers/cli-process.js';
import { freePort } from '../helpers/postgres-server.js';

const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export function nginxAvailable(): boolean {
  return existsSync(NGINX) && spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0;
}

export interface ClusterOptions {
  instances: number;
  openRouterUrl: string;
  keysFile: string;
  redisUrl: string;
  databaseUrl: string;
  /** More settings for every instance (environment variables). */
  env?: Record<string, string>;
}

export interface GatewayInstance {
  readonly url: string;
  readonly process: RunningCli;
}

export interface Cluster {
  /** nginx's address: requests go round-robin to the instances. */
  readonly url: string;
  readonly instances: readonly GatewayInstance[];
  /** Stops nginx and the instances (SIGTERM: each writes what its ledger holds), removes the temp folder. */
  stop(): Promise<void>;
}

async function waitUntilLive(url: string, instance: RunningCli, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (instance.child.exitCode !== null) throw new Error(`a gateway exited before answering: ${instance.stderr()}${instance.stdout()}`);
    try {
      const response = await request(`${url}/health/live`);
      await response.body.text();
      if (response.statusCode === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`a gateway did not answer within ${timeoutMs} ms: ${instance.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The README example's `location /` block (examples/nginx.conf): the harness proxies as the example does. */
function exampleLocation(): string {
  const example = readFileSync(fileURLToPath(new URL('../../examples/nginx.conf', import.meta.url)), 'utf8');
  const block = /^ {4}location \/ \{\n[\s\S]*?^ {4}\}$/m.exec(example);
  if (block === null) throw new Error('examples/nginx.conf has no `location / { … }` block');
  return block[0];
}

function nginxConfig(folder: string, listenPort: number, upstreamPorts: readonly number[]): string {
  const asRoot = process.getuid?.() === 0;
  return `# Written by test/multi-instance/cluster.ts: the README's nginx.conf on loopback, pid and logs in ${folder}.
${asRoot ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${folder}/nginx.pid;
error_log ${folder}/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${folder}/client-body;
  proxy_temp_path ${folder}/proxy;
  fastcgi_temp_path ${folder}/fastcgi;
  uwsgi_temp_path ${folder}/uwsgi;
  scgi_temp_path ${folder}/scgi;
  upstream bridges {
${upstreamPorts.map((port) => `    server 127.0.0.1:${port};`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${listenPort};
    client_max_body_size 64m;
${exampleLocation()}
  }
}
`;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const folder = mkdtempSync(join(tmpdir(), 'ollama-bridge-cluster-'));
  chmodSync(folder, 0o755);
  const ports = await Promise.all(Array.from({ length: options.instances }, () => freePort()));
  const instances: GatewayInstance[] = ports.map((port) => ({
    url: `http://127.0.0.1:${port}`,
    process: spawnCli(['serve'], {
      env: {
        BRIDGE_HOST: '127.0.0.1',
        BRIDGE_PORT: String(port),
        OPENROUTER_API_KEY: FAKE_API_KEY,
        OPENROUTER_BASE_URL: options.openRouterUrl,
        BRIDGE_KEYS_FILE: options.keysFile,
        REDIS_URL: options.redisUrl,
        DATABASE_URL: options.databaseUrl,
        USAGE: 'true',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
    }),
  }));
  let nginx: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = once(nginx, 'exit');
      nginx.kill('SIGQUIT');
      await exited;
    }
    await Promise.all(instances.map(async ({ process: instance }) => {
      if (instance.child.exitCode !== null || instance.child.signalCode !== null) return;
      instance.child.kill('SIGTERM');
      await instance.exit;
    }));
    rmSync(folder, { recursive: true, force: true });
  };
  try {
    await Promise.all(instances.map((instance) => waitUntilLive(instance.url, instance.process)));
    const listenPort = await freePort();
    for (const temp of ['client-body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(folder, temp));
    writeFileSync(join(folder, 'nginx.conf'), nginxConfig(folder, listenPort, ports));
    const started = spawn(NGINX, ['-p', folder, '-c', join(folder, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx = started;
    let stderr = '';
    started.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const url = `http://127.0.0.1:${listenPort}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`nginx exited: ${stderr}${existsSync(join(folder, 'error.log')) ? readFileSync(join(folder, 'error.log'), 'utf8') : ''}`);
      try {
        const response = await request(`${url}/health/live`);
        await response.body.text();
        if (response.statusCode === 200) break;
      } catch {
        // nginx not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`nginx did not answer: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { url, instances, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
