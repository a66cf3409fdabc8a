/**
 * Behind a reverse proxy (--trust-proxy, TRUST_PROXY) over real HTTP. The gateway listens on
 * 127.0.0.1; a client on 127.0.0.1 plays the proxy, one on 127.0.0.2 a peer that is not one.
 * Without the setting, X-Forwarded-* change nothing. With it, from a trusted proxy they decide the
 * address that limits count (per-address rate limits, failed admin sign-ins), the usage record's
 * clientAddress and log lines, the scheme (the admin cookie's Secure) and the origin the admin
 * API calls its own; from any other peer they change nothing. The DNS-rebinding check reads
 * the Host header only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

/** A peer that is not the proxy: another loopback address (Linux routes all of 127/8 to lo). */
const untrustedPeer = new Agent({
  connect: (options, callback) => {
    const socket = connect({ host: options.hostname, port: Number(options.port), localAddress: '127.0.0.2' });
    socket.once('connect', () => callback(null, socket));
    socket.once('error', (error) => callback(error, null));
  },
});

interface CallOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** From 127.0.0.2 instead of 127.0.0.1. */
  untrusted?: boolean;
}

async function call(base: string, path: string, options: CallOptions = {}) {
  const response = await request(`${base}${path}`, {
    method: options.body === undefined ? 'GET' : 'POST',
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.untrusted === true ? { dispatcher: untrustedPeer } : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

const chatBody = { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] };
const chat = (base: string, forwardedFor: string, untrusted = false) => call(base, '/api/chat', { body: chatBody, headers: { 'x-forwarded-for': forwardedFor }, untrusted });
const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
const addressAndStatus = (record: UsageRecord): string => `${record.clientAddress} ${record.status}`;
const setCookieOf = (headers: Record<string, string | string[] | undefined>): string => [headers['set-cookie']].flat()[0] ?? '';

let fake: FakeOpenRouter;
let directory: string;
let keysFile: string;
let adminKey: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-trust-proxy-'));
  keysFile = join(directory, 'keys.json');
  adminKey = lastLine(createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }));
});
afterAll(async () => {
  await untrustedPeer.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** A gateway without keys, 2 requests a minute per address, its usage records collected. */
async function openGateway(settings: Record<string, unknown>): Promise<{ gateway: TestGateway; records: UsageRecord[] }> {
  const gateway = await startGateway(fake.baseUrl, { RATE_LIMIT_RPM: 2, ...settings });
  const records: UsageRecord[] = [];
  gateway.app.usageEvents.subscribe((record) => records.push(record));
  return { gateway, records };
}

describe('without --trust-proxy (the default): X-Forwarded-* change nothing', () => {
  let open: { gateway: TestGateway; records: UsageRecord[] };
  let keyed: TestGateway;
  beforeAll(async () => {
    open = await openGateway({});
    keyed = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
  });
  afterAll(async () => {
    await open?.gateway.close();
    await keyed?.close();
  });

  it('a forged X-Forwarded-For does not change the address limits count: the socket\'s is used, and recorded', async () => {
    const base = open.gateway.url;
    expect((await chat(base, '203.0.113.1')).status).toBe(200);
    expect((await chat(base, '203.0.113.2')).status).toBe(200);
    expect((await chat(base, '203.0.113.3')).status).toBe(429);
    expect(open.records.map(addressAndStatus)).toEqual(['127.0.0.1 200', '127.0.0.1 200', '127.0.0.1 429']);
  });

  it('X-Forwarded-Proto: https does not make the session cookie Secure; a forwarded origin is not the gateway\'s own', async () => {
    const signedIn = await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { 'x-forwarded-proto': 'https' } });
    expect(signedIn.status).toBe(200);
    expect(setCookieOf(signedIn.headers)).not.toMatch(/;\s*Secure/i);
    const forwardedOrigin = await call(keyed.url, '/admin/api/session', {
      body: { key: adminKey },
      headers: { origin: 'https://admin.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'admin.example.com' },
    });
    expect(forwardedOrigin.status).toBe(403);
  });
});

describe('with --trust-proxy 127.0.0.1', () => {
  let open: { gateway: TestGateway; records: UsageRecord[] };
  let keyed: TestGateway;
  const logs = new LogCapture();
  beforeAll(async () => {
    open = await openGateway({ TRUST_PROXY: '127.0.0.1' });
    keyed = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile, TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'info' }, { logDestination: logs });
  });
  afterAll(async () => {
    await open?.gateway.close();
    await keyed?.close();
  });

  it('from the proxy, X-Forwarded-For is the address limits count and the usage record names; entries a client put before it do not count', async () => {
    const base = open.gateway.url;
    open.records.length = 0;
    expect((await chat(base, '198.51.100.1')).status).toBe(200);
    // The client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw.
    expect((await chat(base, '6.6.6.6, 198.51.100.1')).status).toBe(200);
    expect((await chat(base, '198.51.100.2')).status).toBe(200);
    expect((await chat(base, '198.51.100.1')).status).toBe(429);
    expect(open.records.map(addressAndStatus)).toEqual(['198.51.100.1 200', '198.51.100.1 200', '198.51.100.2 200', '198.51.100.1 429']);
  });

  it('from a peer that is not a trusted proxy, X-Forwarded-For is ignored: its own address is counted and recorded', async () => {
    const base = open.gateway.url;
    open.records.length = 0;
    expect((await chat(base, '192.0.2.1', true)).status).toBe(200);
    expect((await chat(base, '192.0.2.2', true)).status).toBe(200);
    expect((await chat(base, '192.0.2.3', true)).status).toBe(429);
    expect(open.records.map(addressAndStatus)).toEqual(['127.0.0.2 200', '127.0.0.2 200', '127.0.0.2 429']);
  });

  it('X-Forwarded-Proto: https from the proxy makes the session cookie Secure (and its clearing); from another peer it does not', async () => {
    const viaProxy = await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { 'x-forwarded-proto': 'https' } });
    expect(viaProxy.status).toBe(200);
    expect(setCookieOf(viaProxy.headers)).toMatch(/;\s*Secure/i);
    const cookie = setCookieOf(viaProxy.headers).split(';')[0]!;
    const csrf = (JSON.parse(viaProxy.text) as { csrfToken: string }).csrfToken;
    const signedOut = await request(`${keyed.url}/admin/api/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf, 'x-forwarded-proto': 'https' } });
    await signedOut.body.text();
    expect(signedOut.statusCode).toBe(204);
    expect(setCookieOf(signedOut.headers)).toMatch(/;\s*Secure/i);

    const direct = await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { 'x-forwarded-proto': 'https' }, untrusted: true });
    expect(direct.status).toBe(200);
    expect(setCookieOf(direct.headers)).not.toMatch(/;\s*Secure/i);
  });

  it('the admin API\'s own origin is the one the browser addressed through the proxy (forwarded scheme and host, its default port or not)', async () => {
    const forwarded = { origin: 'https://admin.example.com', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'admin.example.com' };
    expect((await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: forwarded })).status).toBe(200);
    // nginx's `$host:$server_port` names the port a browser leaves out of Origin.
    expect((await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { ...forwarded, 'x-forwarded-host': 'admin.example.com:443' } })).status).toBe(200);
    expect((await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { ...forwarded, 'x-forwarded-host': 'admin.example.com:8443' } })).status).toBe(403);
    expect((await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: { ...forwarded, origin: 'https://evil.example' } })).status).toBe(403);
    // Another peer's forwarded host and scheme are not believed.
    expect((await call(keyed.url, '/admin/api/session', { body: { key: adminKey }, headers: forwarded, untrusted: true })).status).toBe(403);
  });

  it('the DNS-rebinding check (loopback bind) reads the Host header, never X-Forwarded-Host, which a page can set', async () => {
    const rebound = await call(keyed.url, '/api/version', { headers: { host: 'evil.example', 'x-forwarded-host': 'localhost' } });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text)).toEqual({ error: 'host "evil.example" is not allowed (DNS rebinding protection); connect through localhost' });
    const publicName = await call(keyed.url, '/api/version', { headers: { 'x-forwarded-host': 'ollama.example.com' } });
    expect(publicName.status).toBe(200);
  });

  // Last here: it spends 127.0.0.2's failed sign-ins, which the tests above sign in from.
  it('failed admin sign-ins are limited per forwarded address (5 a minute), and the log line names it', async () => {
    const signIn = (forwardedFor: string, untrusted = false) => call(keyed.url, '/admin/api/session', { body: { key: 'obk_wrong' }, headers: { 'x-forwarded-for': forwardedFor }, untrusted });
    for (let attempt = 0; attempt < 5; attempt++) expect((await signIn('198.51.100.7')).status).toBe(401);
    expect((await signIn('198.51.100.7')).status).toBe(429);
    expect((await signIn('198.51.100.8')).status).toBe(401);
    const refusals = logs.text.split('\n').filter((line) => line.includes('admin sign-in')).map((line) => JSON.parse(line) as { address?: string; msg: string });
    expect(refusals.filter((line) => line.msg === 'admin sign-in refused').map((line) => line.address)).toEqual([...Array<string>(5).fill('198.51.100.7'), '198.51.100.8']);
    expect(refusals.find((line) => line.msg === 'admin sign-in: too many failures')?.address).toBe('198.51.100.7');
    // From another peer, forged addresses all count as that peer's.
    for (let attempt = 0; attempt < 5; attempt++) expect((await signIn(`192.0.2.${10 + attempt}`, true)).status).toBe(401);
    expect((await signIn('192.0.2.99', true)).status).toBe(429);
  });
});
