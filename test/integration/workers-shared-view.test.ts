/**
 * `--workers 2` seen as one gateway, over the real command line: a `/metrics` scrape answered
 * by either worker sums both (and keeps the counts of workers replaced by a rolling restart,
 * and of a worker killed, as the last scrape saw them);
 * the admin page's Live feed, recent requests and keys' last use hold both workers' requests;
 * a session signed out on one worker is refused by every worker, a replacement included;
 * failed admin sign-ins are counted across the workers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout, type RunningCli } from '../helpers/cli-process.js';
import { Scrape } from '../helpers/metrics.js';

const WORKER_HEADER = 'x-ollama-bridge-worker';
/** The catalog's name for `openai/gpt-4o`: the model label of the metrics. */
const MODEL_LABEL = 'openai/gpt-4o:latest';

let fake: FakeOpenRouter;
let directory: string;
let cli: RunningCli;
let url: string;
let adminKey: string;
let clientKey: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-workers-view-'));
  const emptyEnvFile = join(directory, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const keysFile = join(directory, 'keys.json');
  adminKey = createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }).trimEnd().split('\n').at(-1)!;
  clientKey = createKeyCommand({ keysFile, name: 'client' }).trimEnd().split('\n').at(-1)!;
  cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', FAKE_API_KEY, '--openrouter-url', fake.baseUrl, '--port', '0', '--workers', '2', '--keys-file', keysFile, '--log-format', 'json']);
  url = (await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000))[1]!;
  await waitForOutput(cli, /2 workers serving/, 60_000);
}, 150_000);

afterAll(async () => {
  if (cli !== undefined && cli.child.exitCode === null) {
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exit, 30_000, 'the primary exits').catch(() => undefined);
  }
  killAllClis();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

interface Answer {
  status: number;
  worker: string;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** One request on a connection of its own (the kernel spreads connections, not requests, over the workers). */
async function fresh(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const agent = new Agent({ pipelining: 0 });
  try {
    const response = await request(`${url}${path}`, { method: (options.method ?? 'GET') as 'GET', headers: { connection: 'close', ...options.headers }, ...(options.body === undefined ? {} : { body: options.body }), dispatcher: agent });
    const body = await response.body.text();
    return { status: response.statusCode, worker: String(response.headers[WORKER_HEADER]), body, headers: response.headers };
  } finally {
    await agent.close();
  }
}

/** Requests on connections of their own until each worker has answered at least `each` (at most 60 tries). */
async function fromEveryWorker(path: string, each: number, options: Parameters<typeof fresh>[1] = {}): Promise<Answer[]> {
  const answers: Answer[] = [];
  const byWorker = new Map<string, number>();
  for (let index = 0; index < 60 && (byWorker.size < 2 || [...byWorker.values()].some((count) => count < each)); index++) {
    const answer = await fresh(path, options);
    answers.push(answer);
    byWorker.set(answer.worker, (byWorker.get(answer.worker) ?? 0) + 1);
  }
  expect(byWorker.size, 'both workers answered').toBe(2);
  return answers;
}

const admin = (): Record<string, string> => ({ authorization: `Bearer ${adminKey}` });

async function scrapeOnce(): Promise<{ scrape: Scrape; worker: string }> {
  const answer = await fresh('/metrics', { headers: admin() });
  expect(answer.status, answer.body).toBe(200);
  return { scrape: new Scrape(answer.body), worker: answer.worker };
}

function chat(content: string): Parameters<typeof fresh>[1] {
  return {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content }] }),
  };
}

describe('--workers 2: /metrics', () => {
  it('one scrape, answered by either worker, sums the requests both workers answered; process metrics keep a worker label', async () => {
    const versions = await fromEveryWorker('/api/version', 3);
    expect(versions.every((answer) => answer.status === 200)).toBe(true);
    const chats = await fromEveryWorker('/api/chat', 2, chat('hi'));
    expect(chats.every((answer) => answer.status === 200)).toBe(true);
    const workers = new Set(versions.map((answer) => answer.worker));

    const { scrape } = await scrapeOnce();
    expect(scrape.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' })).toBe(versions.length);
    expect(scrape.value('ollama_bridge_requests_total', { route: '/api/chat', status: '200', model: MODEL_LABEL })).toBe(chats.length);
    expect(scrape.histogramCount('ollama_bridge_request_duration_seconds')).toBe(chats.length);
    const promptTokens = scrape.value('ollama_bridge_tokens_total', { model: MODEL_LABEL, key: 'client', type: 'prompt' });
    expect(promptTokens).toBeGreaterThan(0);
    expect(scrape.value('ollama_bridge_workers_reporting')).toBe(2);
    const cpuWorkers = new Set(scrape.samples('process_cpu_user_seconds_total').map((sample) => sample.labels?.worker));
    expect(cpuWorkers).toEqual(workers);

    // The other worker's scrape says the same.
    const scrapes = [];
    for (let index = 0; index < 20 && new Set(scrapes.map((taken) => taken.worker)).size < 2; index++) scrapes.push(await scrapeOnce());
    expect(new Set(scrapes.map((taken) => taken.worker)).size).toBe(2);
    for (const taken of scrapes) {
      expect(taken.scrape.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' })).toBe(versions.length);
      expect(taken.scrape.value('ollama_bridge_tokens_total', { model: MODEL_LABEL, key: 'client', type: 'prompt' })).toBe(promptTokens);
    }
  }, 60_000);
});

interface LiveFeed {
  events: Array<{ keyName: string | null; route: string; status: number }>;
  close(): Promise<void>;
}

/** GET /admin/api/live on a connection of its own, its events collected as they come. */
async function openLive(): Promise<LiveFeed> {
  const agent = new Agent({ pipelining: 0 });
  const response = await request(`${url}/admin/api/live`, { headers: admin(), dispatcher: agent });
  expect(response.statusCode).toBe(200);
  const events: LiveFeed['events'] = [];
  let buffered = '';
  let opened = false;
  response.body.setEncoding('utf8');
  response.body.on('data', (text: string) => {
    buffered += text;
    opened ||= buffered.includes(': live requests');
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (block.startsWith('event: request') && data !== undefined) events.push(JSON.parse(data) as LiveFeed['events'][number]);
    }
  });
  response.body.on('error', () => undefined);
  await until(() => opened, 10_000, 'the feed opened');
  return {
    events,
    close: async () => {
      response.body.destroy();
      await agent.destroy();
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function chatAs(key: string): Parameters<typeof fresh>[1] {
  return { ...chat('hello'), headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } };
}

describe('--workers 2: the admin Live feed, recent requests and keys\' last use', () => {
  it('a Live follower on one worker sees the requests both workers answer, each once; a new follower and /admin/api/recent get both workers\' recent ones', async () => {
    const keysFile = join(directory, 'keys.json');
    const watchedKey = createKeyCommand({ keysFile, name: 'watched' }).trimEnd().split('\n').at(-1)!;
    // Each worker watches the keys file: wait until both accept the new key.
    await until(async () => (await fromEveryWorker('/api/tags', 2, { headers: { authorization: `Bearer ${watchedKey}` } })).every((answer) => answer.status === 200), 20_000, 'the new key served by both workers');

    const feed = await openLive();
    try {
      const chats = await fromEveryWorker('/api/chat', 2, chatAs(watchedKey));
      expect(chats.every((answer) => answer.status === 200)).toBe(true);
      const watched = (): number => feed.events.filter((event) => event.keyName === 'watched').length;
      await until(() => watched() >= chats.length, 10_000, `${chats.length} watched requests in the feed (saw ${watched()})`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watched()).toBe(chats.length);

      // A follower that opens now is sent both workers' recent requests first.
      const late = await openLive();
      await until(() => late.events.filter((event) => event.keyName === 'watched').length >= chats.length, 10_000, 'the recent requests sent to a new follower');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(late.events.filter((event) => event.keyName === 'watched')).toHaveLength(chats.length);
      await late.close();

      for (const answer of await fromEveryWorker('/admin/api/recent', 1, { headers: admin() })) {
        const { requests } = JSON.parse(answer.body) as { requests: Array<{ keyName: string | null }> };
        expect(requests.filter((listed) => listed.keyName === 'watched'), `recent from worker ${answer.worker}`).toHaveLength(chats.length);
      }
    } finally {
      await feed.close();
    }
  }, 90_000);

  it("a key used on one worker only has its lastUsedAt in every worker's key list", async () => {
    const keysFile = join(directory, 'keys.json');
    const oneWorkerKey = createKeyCommand({ keysFile, name: 'one-worker' }).trimEnd().split('\n').at(-1)!;
    await until(async () => (await fromEveryWorker('/api/tags', 2, { headers: { authorization: `Bearer ${oneWorkerKey}` } })).every((answer) => answer.status === 200), 20_000, 'the new key served by both workers');
    // One kept-alive connection: every chat on one worker.
    const agent = new Agent({ connections: 1 });
    const { headers, body } = chatAs(oneWorkerKey)!;
    const response = await request(`${url}/api/chat`, { method: 'POST', headers, body: body!, dispatcher: agent });
    await response.body.text();
    await agent.close();
    expect(response.statusCode).toBe(200);
    const usedOn = String(response.headers[WORKER_HEADER]);
    const lists = await fromEveryWorker('/admin/api/keys', 1, { headers: admin() });
    for (const answer of lists) {
      const { keys } = JSON.parse(answer.body) as { keys: Array<{ name: string; lastUsedAt: string | null }> };
      expect(keys.find((key) => key.name === 'one-worker')?.lastUsedAt, `worker ${answer.worker} (used on ${usedOn})`).not.toBeNull();
    }
  }, 60_000);
});

interface Session {
  cookie: string;
  csrfToken: string;
}

async function signIn(): Promise<Session> {
  const answer = await fresh('/admin/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: adminKey }) });
  expect(answer.status, answer.body).toBe(200);
  return { cookie: String(answer.headers['set-cookie']).split(';')[0]!, csrfToken: (JSON.parse(answer.body) as { csrfToken: string }).csrfToken };
}

async function signOut(session: Session): Promise<string> {
  const answer = await fresh('/admin/api/session', { method: 'DELETE', headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } });
  expect(answer.status, answer.body).toBe(204);
  return answer.worker;
}

/** What every worker says of the session: signed in or not. */
async function signedInByWorker(session: Session): Promise<Map<string, boolean[]>> {
  const byWorker = new Map<string, boolean[]>();
  for (const answer of await fromEveryWorker('/admin/api/session', 2, { headers: { cookie: session.cookie } })) {
    byWorker.set(answer.worker, [...(byWorker.get(answer.worker) ?? []), (JSON.parse(answer.body) as { signedIn: boolean }).signedIn]);
  }
  return byWorker;
}

const signedOutSessions: Session[] = [];
let keptSession: Session;

describe('--workers 2: admin sign-out', () => {
  it('a session signed out on one worker is refused by every worker as soon as the sign-out has answered', async () => {
    const session = await signIn();
    keptSession = await signIn();
    for (const [worker, states] of await signedInByWorker(session)) expect(states, `worker ${worker} before`).toEqual(states.map(() => true));
    const signedOutOn = await signOut(session);
    signedOutSessions.push(session);
    for (const [worker, states] of await signedInByWorker(session)) expect(states, `worker ${worker} (signed out on ${signedOutOn})`).toEqual(states.map(() => false));
    // The other session still works everywhere; a call with the signed-out cookie is 401.
    for (const [worker, states] of await signedInByWorker(keptSession)) expect(states, `worker ${worker}, the other session`).toEqual(states.map(() => true));
    for (const answer of await fromEveryWorker('/admin/api/overview', 1, { headers: { cookie: session.cookie } })) expect(answer.status, `worker ${answer.worker}`).toBe(401);
    // One more, signed out just before the rolling restart below.
    const second = await signIn();
    await signOut(second);
    signedOutSessions.push(second);
  }, 60_000);
});

describe('--workers 2: a rolling restart (SIGHUP)', () => {
  it('keeps the counts of the workers it replaced in /metrics (the sum never drops: no counter reset for Prometheus)', async () => {
    const before = (await scrapeOnce()).scrape;
    const versions = before.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' });
    const chats = before.value('ollama_bridge_requests_total', { route: '/api/chat', status: '200', model: MODEL_LABEL });
    const durations = before.histogramCount('ollama_bridge_request_duration_seconds');
    expect(versions).toBeGreaterThan(0);
    const answersBefore = await fromEveryWorker('/api/version', 1);
    const workersBefore = new Set(answersBefore.map((answer) => answer.worker));
    cli.child.kill('SIGHUP');
    await until(() => /rolling restart done/.test(cli.stdout()), 120_000, 'the rolling restart');
    const answers = await fromEveryWorker('/api/version', 1);
    expect(answers.filter((answer) => workersBefore.has(answer.worker))).toEqual([]);
    const after = (await scrapeOnce()).scrape;
    // The requests answered by the old workers (and by the new ones since).
    expect(after.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' })).toBe(versions + answersBefore.length + answers.length);
    expect(after.value('ollama_bridge_requests_total', { route: '/api/chat', status: '200', model: MODEL_LABEL })).toBe(chats);
    expect(after.histogramCount('ollama_bridge_request_duration_seconds')).toBe(durations);
    expect(after.value('ollama_bridge_workers_reporting')).toBe(2);
  }, 150_000);

  it('keeps the counts of a worker killed as the last scrape saw them (the sum never drops)', async () => {
    // Each worker has answered some: the killed one's share is not nothing.
    await fromEveryWorker('/api/version', 2);
    const before = (await scrapeOnce()).scrape;
    const versions = before.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' });
    const pids = execFileSync('pgrep', ['-f', 'src/cli.ts', '-P', String(cli.child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    const deaths = (cli.stdout().match(/a worker died; starting a replacement/g) ?? []).length;
    process.kill(pids[0]!, 'SIGKILL');
    await until(() => (cli.stdout().match(/a worker died; starting a replacement/g) ?? []).length > deaths, 20_000, 'the death logged');
    // The replacement serves (waited for on another route: /api/version's count is the one compared).
    await until(async () => {
      try {
        return (await fromEveryWorker('/api/tags', 1, { headers: { authorization: `Bearer ${clientKey}` } })).every((answer) => answer.status === 200);
      } catch {
        return false;
      }
    }, 60_000, 'two workers answering');
    const after = (await scrapeOnce()).scrape;
    expect(after.value('ollama_bridge_requests_total', { route: '/api/version', status: '200', model: '' })).toBe(versions);
    expect(after.value('ollama_bridge_workers_reporting')).toBe(2);
  }, 150_000);

  it('the new workers refuse the sessions signed out before they started, and honour the others', async () => {
    expect(signedOutSessions).toHaveLength(2);
    for (const session of signedOutSessions) {
      for (const [worker, states] of await signedInByWorker(session)) expect(states, `new worker ${worker}`).toEqual(states.map(() => false));
    }
    for (const [worker, states] of await signedInByWorker(keptSession)) expect(states, `new worker ${worker}, the session not signed out`).toEqual(states.map(() => true));
  }, 60_000);
});

// Last: from here on this address may not sign in for a minute.
describe('--workers 2: admin sign-in failures', () => {
  it('are counted across the workers: after five, wherever they landed, every worker answers 429', async () => {
    const attempt = async (): Promise<Answer> => fresh('/admin/api/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'obk_wrong_key' }) });
    for (let index = 0; index < 5; index++) expect((await attempt()).status).toBe(401);
    // Each worker: refused, whether the five landed on it or not.
    const refused = new Map<string, number[]>();
    for (let index = 0; index < 60 && refused.size < 2; index++) {
      const answer = await attempt();
      refused.set(answer.worker, [...(refused.get(answer.worker) ?? []), answer.status]);
    }
    expect(refused.size).toBe(2);
    for (const [worker, statuses] of refused) expect(statuses, `worker ${worker}`).toEqual(statuses.map(() => 429));
  });
});
