/**
 * Admin sign-outs over gateways sharing one real Redis and one ADMIN_SESSION_SECRET: a session
 * signed in on one gateway works on the other; signed out on one, it is refused by the other
 * within moments, and by a gateway started afterwards; one made while Redis is down reaches
 * the others once it is back. Failed sign-ins are counted across them: five on one, and the
 * next on the other is a 429.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';

const SECRET = 'a-shared-admin-session-secret-of-40-chars!';

let fake: FakeOpenRouter;
let redis: TestRedis;
let directory: string;
let keysFile: string;
let adminKey: string;
const gateways: TestGateway[] = [];

async function gateway(): Promise<TestGateway> {
  const started = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, REDIS_URL: redis.url, ADMIN_SESSION_SECRET: SECRET });
  gateways.push(started);
  await until(async () => started.app.sharedStore?.readiness().state === 'ready', 5_000);
  return started;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function signedIn(target: TestGateway, cookie: string): Promise<boolean> {
  const response = await request(`${target.url}/admin/api/session`, { headers: { cookie } });
  return ((await response.body.json()) as { signedIn: boolean }).signedIn;
}

describe.skipIf(!redisAvailable())('admin sign-outs over gateways sharing one Redis', () => {
  beforeAll(async () => {
    fake = await startFakeOpenRouter();
    redis = await startRedis();
    directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-sign-outs-'));
    keysFile = join(directory, 'keys.json');
    adminKey = createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }).trimEnd().split('\n').at(-1)!;
  });
  afterAll(async () => {
    for (const started of gateways) await started.close();
    await redis?.stop();
    await fake?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('a session signed out on one gateway is refused by the other within moments, and by a gateway started later', async () => {
    const first = await gateway();
    const second = await gateway();
    const signIn = await request(`${first.url}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: adminKey }) });
    const { csrfToken } = (await signIn.body.json()) as { csrfToken: string };
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    const kept = await request(`${first.url}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: adminKey }) });
    await kept.body.text();
    const keptCookie = String(kept.headers['set-cookie']).split(';')[0]!;
    expect(await signedIn(second, cookie)).toBe(true);

    const signOut = await request(`${first.url}/admin/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrfToken } });
    await signOut.body.text();
    expect(signOut.statusCode).toBe(204);
    expect(await signedIn(first, cookie)).toBe(false);
    await until(async () => !(await signedIn(second, cookie)), 1_000);

    const third = await gateway();
    await until(async () => !(await signedIn(third, cookie)), 1_000);
    // Only that session: the other one works on every gateway.
    for (const target of [first, second, third]) expect(await signedIn(target, keptCookie)).toBe(true);
  });

  it('a sign-out made while Redis is down reaches the other gateway once Redis is back', async () => {
    const [first, second] = gateways.length >= 2 ? gateways : [await gateway(), await gateway()];
    const signIn = await request(`${first!.url}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: adminKey }) });
    const { csrfToken } = (await signIn.body.json()) as { csrfToken: string };
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    expect(await signedIn(second!, cookie)).toBe(true);
    await redis.stop();
    await until(async () => first!.app.sharedStore?.readiness().state !== 'ready', 5_000);
    const signOut = await request(`${first!.url}/admin/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrfToken } });
    await signOut.body.text();
    expect(signOut.statusCode).toBe(204);
    expect(await signedIn(first!, cookie)).toBe(false);
    // Redis down: the other gateway has not heard of it.
    expect(await signedIn(second!, cookie)).toBe(true);
    await redis.start();
    await until(async () => !(await signedIn(second!, cookie)), 15_000);
  }, 30_000);

  it('failed sign-ins are counted across the gateways: after five on one, the other answers 429', async () => {
    const [first, second] = gateways.length >= 2 ? gateways : [await gateway(), await gateway()];
    // Both on Redis (a test above stopped and started it).
    for (const target of [first!, second!]) await until(async () => target.app.sharedStore?.readiness().state === 'ready', 10_000);
    const attempt = async (target: TestGateway): Promise<number> => {
      const response = await request(`${target.url}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: 'obk_wrong_key' }) });
      await response.body.text();
      return response.statusCode;
    };
    for (let index = 0; index < 5; index++) expect(await attempt(first!)).toBe(401);
    expect(await attempt(second!)).toBe(429);
  });
});
