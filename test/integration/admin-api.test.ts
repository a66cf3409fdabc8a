/**
 * The admin page's server side over real HTTP (issue 14): the page's files and their security
 * headers, sign-in and its cookie, CSRF and origin rules, bearer admin keys, key editing that
 * applies at once, the models filter editor, usage (the same figures as `ollama-bridge usage`)
 * and the live feed. The page itself is a fake index.html in a test folder.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { readKeysFile } from '../../src/auth/keys-file.js';
import { usageCommand } from '../../src/usage/ledger/usage-command.js';
import type { AdminKey, CreatedKey, FilterPreview, KeyList, ModelList, Overview, SessionState, SignedIn, UsageReport } from '../../src/admin/api-types.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

class LogCapture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1)!;
const NO_ADMIN_KEY = 'no admin key: create one with `ollama-bridge keys create --name NAME --admin --keys-file FILE`';
const PAGE_HTML = '<!doctype html><title>fake admin page</title><script type="module" src="./assets/app-3f2a1b.js"></script>';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;
let keysFile: string;
let filterFile: string;
let usageDb: string;
let adminKey: string;
let userKey: string;
const logs = new LogCapture();
/** Every secret the tests handle: none may reach a log line. */
const secrets: string[] = [];

interface CallOptions {
  bearer?: string;
  cookie?: string;
  csrf?: string;
  origin?: string;
  host?: string;
  body?: unknown;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

async function call(base: string, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.csrf !== undefined) headers['x-csrf-token'] = options.csrf;
  if (options.origin !== undefined) headers.origin = options.origin;
  if (options.host !== undefined) headers.host = options.host;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await request(`${base}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

const admin = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, options: CallOptions = {}) => call(gateway.url, method, path, { bearer: adminKey, ...options });

async function signIn(base: string, key: string): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await call(base, 'POST', '/admin/api/session', { body: { key } });
  expect(answer.status, answer.text).toBe(200);
  const setCookie = [answer.headers['set-cookie']].flat()[0]!;
  const cookie = setCookie.split(';')[0]!;
  secrets.push(cookie.split('=')[1]!, (answer.json as SignedIn).csrfToken);
  return { cookie, csrf: (answer.json as SignedIn).csrfToken, answer };
}

async function chat(key: string, model: string, content = 'hello'): Promise<Answer> {
  return call(gateway.url, 'POST', '/api/chat', { bearer: key, body: { model, stream: false, messages: [{ role: 'user', content }] } });
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-admin-'));
  keysFile = join(directory, 'keys.json');
  adminKey = lastLine(createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }));
  userKey = lastLine(createKeyCommand({ keysFile, name: 'laptop' }));
  secrets.push(adminKey, userKey);
  filterFile = join(directory, 'models-filter.txt');
  writeFileSync(filterFile, 'openai/*\nanthropic/*\n', { mode: 0o640 });
  usageDb = join(directory, 'usage.db');
  const pageDir = join(directory, 'page');
  mkdirSync(join(pageDir, 'assets'), { recursive: true });
  writeFileSync(join(pageDir, 'index.html'), PAGE_HTML);
  writeFileSync(join(pageDir, 'assets', 'app-3f2a1b.js'), 'console.log("admin");\n');
  // The build's pre-compressed copy (admin-page/vite.config.ts).
  writeFileSync(join(pageDir, 'assets', 'app-3f2a1b.js.br'), brotliCompressSync('console.log("admin");\n'));
  fake = await startFakeOpenRouter();
  gateway = await startGateway(
    fake.baseUrl,
    { BRIDGE_KEYS_FILE: keysFile, MODELS_FILTER: filterFile, USAGE: true, USAGE_DB: usageDb, LOG_LEVEL: 'trace' },
    { adminPageDir: pageDir, logDestination: logs },
  );
});

afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('the page', () => {
  it('/admin/ is the index.html, never cached, with the security headers, without a key', async () => {
    const page = await call(gateway.url, 'GET', '/admin/');
    expect(page.status).toBe(200);
    expect(page.text).toBe(PAGE_HTML);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('HEAD works as GET does, without a key', async () => {
    const response = await request(`${gateway.url}/admin/`, { method: 'HEAD' });
    await response.body.dump();
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-frame-options']).toBe('DENY');
    const api = await request(`${gateway.url}/admin/api/keys`, { method: 'HEAD' });
    await api.body.dump();
    expect(api.statusCode).toBe(401);
  });

  it('/admin redirects to /admin/ (where the relative asset URLs resolve)', async () => {
    const answer = await call(gateway.url, 'GET', '/admin');
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/admin/');
  });

  it('hashed assets are cached for a year; a missing one is a 404', async () => {
    const asset = await call(gateway.url, 'GET', '/admin/assets/app-3f2a1b.js');
    expect(asset.status).toBe(200);
    expect(asset.text).toBe('console.log("admin");\n');
    expect(asset.headers['cache-control']).toContain('max-age=31536000');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(asset.headers['x-content-type-options']).toBe('nosniff');
    const missing = await call(gateway.url, 'GET', '/admin/assets/nothing.js');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: '404 page not found' });
    const outside = await call(gateway.url, 'GET', '/admin/assets/..%2f..%2fkeys.json');
    expect(outside.status).toBe(404);
    expect(outside.text).not.toContain('hash');
  });

  it('an asset goes brotli-compressed to a client that accepts it (the build\'s .br copy), plain to one that does not', async () => {
    const compressed = await request(`${gateway.url}/admin/assets/app-3f2a1b.js`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    const bytes = Buffer.from(await compressed.body.arrayBuffer());
    expect(compressed.statusCode).toBe(200);
    expect(compressed.headers['content-encoding']).toBe('br');
    expect(compressed.headers['content-type']).toContain('javascript');
    expect(brotliDecompressSync(bytes).toString()).toBe('console.log("admin");\n');
    const plain = await request(`${gateway.url}/admin/assets/app-3f2a1b.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(await plain.body.text()).toBe('console.log("admin");\n');
  });

  it('the DNS-rebinding Host check still applies to /admin', async () => {
    const answer = await call(gateway.url, 'GET', '/admin/', { host: 'attacker.example' });
    expect(answer.status).toBe(403);
    expect(answer.json.error).toContain('DNS rebinding');
  });

  it('other routes still need a client key: no exemption leaks', async () => {
    expect((await call(gateway.url, 'GET', '/api/tags')).status).toBe(401);
    expect((await call(gateway.url, 'GET', '/administrator')).status).toBe(401);
  });
});

describe('paths under /admin/ that no route serves', () => {
  it('are 404 in the admin API\'s error shape, signed out, signed in or with a bearer key; a known API route signed out is still 401', async () => {
    const { cookie } = await signIn(gateway.url, adminKey);
    for (const path of ['/admin/elsewhere', '/admin/api/nothing', '/admin/api/keys/abc/more', '/admin/index.htm?x=1']) {
      for (const caller of [{}, { cookie }, { bearer: adminKey }]) {
        const answer = await call(gateway.url, 'GET', path, caller);
        expect([path, answer.status, answer.json]).toEqual([path, 404, { error: '404 page not found' }]);
        expect(answer.headers['x-frame-options']).toBe('DENY');
      }
    }
    const signedOut = await call(gateway.url, 'GET', '/admin/api/keys');
    expect(signedOut.status).toBe(401);
    expect(signedOut.json.error).toContain('sign in');
  });

  it('a body sent to one is never read (404, not 400); a method the path does not serve is 405', async () => {
    const unread = await request(`${gateway.url}/admin/api/nothing`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(unread.statusCode).toBe(404);
    expect(await unread.body.json()).toEqual({ error: '404 page not found' });
    for (const [method, path] of [['PUT', '/admin/api/keys'], ['GET', '/admin/api/keys/abc'], ['GET', '/admin/api/models-filter'], ['DELETE', '/admin/']] as const) {
      const answer = await call(gateway.url, method, path);
      expect([method, path, answer.status, answer.json]).toEqual([method, path, 405, { error: '405 method not allowed' }]);
    }
  });
});

describe('sign-in', () => {
  it('GET session without a cookie: signed out, admin keys configured', async () => {
    const answer = await call(gateway.url, 'GET', '/admin/api/session');
    expect(answer.status).toBe(200);
    expect(answer.json as SessionState).toEqual({ signedIn: false, adminKeysConfigured: true });
  });

  it('an unknown key is 401, a key without the admin scope 403, a missing key 400', async () => {
    const unknown = await call(gateway.url, 'POST', '/admin/api/session', { body: { key: 'obk_nothing_atall' } });
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual({ error: 'invalid API key' });
    const user = await call(gateway.url, 'POST', '/admin/api/session', { body: { key: userKey } });
    expect(user.status).toBe(403);
    expect(user.json.error).toContain('no admin scope');
    expect((await call(gateway.url, 'POST', '/admin/api/session', { body: {} })).status).toBe(400);
  });

  it('an admin key gets an HttpOnly, SameSite=Strict session cookie on /admin, and the session says who', async () => {
    const { cookie, csrf, answer } = await signIn(gateway.url, adminKey);
    const setCookie = [answer.headers['set-cookie']].flat()[0]!;
    expect(setCookie).toMatch(/^ollama_bridge_admin=[\w-]{40,}\.[\w-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/admin');
    expect(setCookie).toContain('Max-Age=28800');
    // Plain HTTP here: Secure only when the request came over TLS.
    expect(setCookie).not.toContain('Secure');
    expect(answer.json).toMatchObject({ keyName: 'operator', keyId: adminKey.split('_')[1] });
    const session = await call(gateway.url, 'GET', '/admin/api/session', { cookie });
    expect(session.json).toMatchObject({ signedIn: true, adminKeysConfigured: true, keyName: 'operator', csrfToken: csrf });
    const keys = await call(gateway.url, 'GET', '/admin/api/keys', { cookie });
    expect(keys.status).toBe(200);
  });

  it('sign-out ends the session and clears the cookie', async () => {
    const { cookie, csrf } = await signIn(gateway.url, adminKey);
    const out = await call(gateway.url, 'DELETE', '/admin/api/session', { cookie, csrf });
    expect(out.status).toBe(204);
    expect([out.headers['set-cookie']].flat()[0]).toMatch(/^ollama_bridge_admin=;/);
    expect((await call(gateway.url, 'GET', '/admin/api/keys', { cookie })).status).toBe(401);
  });
});

describe('CSRF and origins', () => {
  it('a state-changing call with the cookie needs the session\'s X-CSRF-Token', async () => {
    const { cookie, csrf } = await signIn(gateway.url, adminKey);
    const body = { name: 'csrf-check' };
    const without = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, body });
    expect(without.status).toBe(403);
    expect(without.json.error).toContain('X-CSRF-Token');
    const wrong = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, csrf: `${csrf.slice(0, -1)}x`, body });
    expect(wrong.status).toBe(403);
    const ownOrigin = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, csrf, origin: gateway.url, body });
    expect(ownOrigin.status, ownOrigin.text).toBe(201);
    secrets.push((ownOrigin.json as CreatedKey).key);
    expect(readKeysFile(keysFile).map((record) => record.name)).toContain('csrf-check');
  });

  it('the page\'s own origin is allowed whatever the host name (not only the default origins); other routes keep the origin list', async () => {
    const { cookie, csrf } = await signIn(gateway.url, adminKey);
    const own = { host: 'admin-box.local:8443', origin: 'http://admin-box.local:8443' };
    const created = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, csrf, ...own, body: { name: 'from-own-origin' } });
    expect(created.status, created.text).toBe(201);
    secrets.push((created.json as CreatedKey).key);
    const chatFromThere = await call(gateway.url, 'POST', '/api/chat', { bearer: userKey, ...own, body: { model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] } });
    expect(chatFromThere.status).toBe(403);
    expect(chatFromThere.json.error).toContain('origin "http://admin-box.local:8443" is not allowed');
  });

  it('the cookie from another origin is refused, even one CORS allows (another localhost port) and with the token', async () => {
    const { cookie, csrf } = await signIn(gateway.url, adminKey);
    const localhost = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, csrf, origin: 'http://localhost:3000', body: { name: 'from-elsewhere' } });
    expect(localhost.status).toBe(403);
    expect(localhost.json.error).toContain('origin');
    const foreign = await call(gateway.url, 'POST', '/admin/api/keys', { cookie, csrf, origin: 'https://attacker.example', body: { name: 'from-elsewhere' } });
    expect(foreign.status).toBe(403);
    const signInFromElsewhere = await call(gateway.url, 'POST', '/admin/api/session', { origin: 'http://localhost:3000', body: { key: adminKey } });
    expect(signInFromElsewhere.status).toBe(403);
    expect(readKeysFile(keysFile).map((record) => record.name)).not.toContain('from-elsewhere');
  });
});

describe('bearer access', () => {
  it('an admin key works on every route without a cookie or CSRF token; a user key is 403; none or unknown 401', async () => {
    expect((await admin('GET', '/admin/api/keys')).status).toBe(200);
    expect((await admin('GET', '/admin/api/overview')).status).toBe(200);
    const user = await call(gateway.url, 'GET', '/admin/api/keys', { bearer: userKey });
    expect(user.status).toBe(403);
    expect(user.json.error).toContain('admin scope');
    const none = await call(gateway.url, 'GET', '/admin/api/keys');
    expect(none.status).toBe(401);
    expect(none.json.error).toContain('sign in');
    expect((await call(gateway.url, 'GET', '/admin/api/keys', { bearer: 'obk_nothing_atall' })).status).toBe(401);
    expect((await call(gateway.url, 'POST', '/admin/api/keys', { bearer: userKey, body: { name: 'x' } })).status).toBe(403);
    // Refused before the body is read: a body that is not JSON is no 400 for a stranger.
    const unread = await request(`${gateway.url}/admin/api/keys`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    await unread.body.dump();
    expect(unread.statusCode).toBe(401);
  });
});

describe('keys', () => {
  it('lists each key with its fields and source; a key made here works at once, is limited at once, is refused at once', async () => {
    const list = (await admin('GET', '/admin/api/keys')).json as KeyList;
    expect(list.editable).toBe(true);
    expect(list.defaults).toEqual({ requestsPerMinute: null, tokensPerMinute: null, budgetUsd: null, budgetPeriod: 'month' });
    const operator = list.keys.find((key) => key.name === 'operator')!;
    expect(operator).toMatchObject({ scopes: ['admin'], models: [], source: 'file', expired: false, budgetUsd: null, spentUsd: 0, expiresAt: null });

    const created = await admin('POST', '/admin/api/keys', { body: { name: 'colleague', models: ['openai/*'], requestsPerMinute: 100, budgetUsd: 5 } });
    expect(created.status, created.text).toBe(201);
    const { key, record } = created.json as CreatedKey;
    secrets.push(key);
    expect(key).toMatch(/^obk_/);
    expect(record).toMatchObject({ name: 'colleague', models: ['openai/*'], requestsPerMinute: 100, budgetUsd: 5, budgetPeriod: 'month', source: 'file', lastUsedAt: null });
    expect(readKeysFile(keysFile).find((stored) => stored.id === record.id)).toMatchObject({ name: 'colleague', models: ['openai/*'] });
    expect(readFileSync(keysFile, 'utf8')).not.toContain(key);

    const first = await chat(key, 'openai/gpt-4o');
    expect(first.status, first.text).toBe(200);
    const afterUse = ((await admin('GET', '/admin/api/keys')).json as KeyList).keys.find((candidate) => candidate.id === record.id)!;
    expect(afterUse.lastUsedAt).not.toBeNull();
    expect(afterUse.spentUsd).toBeGreaterThan(0);

    const patched = await admin('PATCH', `/admin/api/keys/${record.id}`, { body: { models: ['anthropic/*'], requestsPerMinute: null } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json as AdminKey).toMatchObject({ models: ['anthropic/*'], requestsPerMinute: null, budgetUsd: 5 });
    const refused = await chat(key, 'openai/gpt-4o');
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain("may not use model 'openai/gpt-4o'");
    expect((await chat(key, 'anthropic/claude-sonnet-4.5')).status).toBe(200);

    const revoked = await admin('DELETE', `/admin/api/keys/${record.id}`);
    expect(revoked.status).toBe(204);
    expect((await chat(key, 'anthropic/claude-sonnet-4.5')).status).toBe(401);
    expect(readKeysFile(keysFile).some((stored) => stored.id === record.id)).toBe(false);
  });

  it('bad input is a 400 that says what is wrong; an unknown id 404', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: '  ' }, 'name must not be empty'],
      [{ name: 'x', requestsPerMinute: 1.5 }, 'requestsPerMinute must be a positive whole number'],
      [{ name: 'x', budgetUsd: -1 }, 'budgetUsd must be a positive amount'],
      [{ name: 'x', budgetPeriod: 'week' }, 'budgetPeriod needs budgetUsd'],
      [{ name: 'x', expiresAt: 'soon' }, 'expiresAt "soon" is not a date'],
      [{ name: 'x', expiresAt: '2001-01-01' }, 'is in the past'],
      [{ name: 'x', colour: 'red' }, 'invalid request'],
    ];
    for (const [body, message] of cases) {
      const answer = await admin('POST', '/admin/api/keys', { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json.error, JSON.stringify(body)).toContain(message);
    }
    const taken = await admin('POST', '/admin/api/keys', { body: { name: 'operator' } });
    expect(taken.status).toBe(409);
    expect(taken.json.error).toContain('a key named "operator" already exists');
    const renamedOnto = await admin('PATCH', `/admin/api/keys/${userKey.split('_')[1]}`, { body: { name: 'operator' } });
    expect(renamedOnto.status).toBe(409);
    expect((await admin('PATCH', '/admin/api/keys/nosuchid', { body: { name: 'y' } })).status).toBe(404);
    expect((await admin('DELETE', '/admin/api/keys/nosuchid')).status).toBe(404);
  });

  it('a session dies at once when its key is revoked or loses the admin scope; the last admin key cannot be removed', async () => {
    const second = (await admin('POST', '/admin/api/keys', { body: { name: 'second-admin', admin: true } })).json as CreatedKey;
    secrets.push(second.key);
    expect(second.record.scopes).toEqual(['admin']);
    const { cookie } = await signIn(gateway.url, second.key);
    expect((await call(gateway.url, 'GET', '/admin/api/keys', { cookie })).status).toBe(200);
    expect((await admin('PATCH', `/admin/api/keys/${second.record.id}`, { body: { admin: false } })).status).toBe(200);
    expect((await call(gateway.url, 'GET', '/admin/api/keys', { cookie })).status).toBe(401);
    expect(((await call(gateway.url, 'GET', '/admin/api/session', { cookie })).json as SessionState).signedIn).toBe(false);

    expect((await admin('PATCH', `/admin/api/keys/${second.record.id}`, { body: { admin: true } })).status).toBe(200);
    const again = await signIn(gateway.url, second.key);
    expect((await admin('DELETE', `/admin/api/keys/${second.record.id}`)).status).toBe(204);
    expect((await call(gateway.url, 'GET', '/admin/api/keys', { cookie: again.cookie })).status).toBe(401);

    const operatorId = adminKey.split('_')[1]!;
    const last = await admin('DELETE', `/admin/api/keys/${operatorId}`);
    expect(last.status).toBe(409);
    expect(last.json.error).toContain('no admin key');
    expect((await admin('PATCH', `/admin/api/keys/${operatorId}`, { body: { admin: false } })).status).toBe(409);
  });
});

describe('models and the models filter', () => {
  it('lists served and hidden models with price, the deciding line and the keys that may use each', async () => {
    const list = (await admin('GET', '/admin/api/models')).json as ModelList;
    expect(list.filter).toEqual({ path: filterFile, text: 'openai/*\nanthropic/*\n', editable: true });
    const gpt = list.models.find((model) => model.name === 'openai/gpt-4o:latest')!;
    expect(gpt).toMatchObject({ backend: 'openrouter', served: true, filterLine: '1: openai/*', contextLength: 128000, promptPricePerMillion: 2.5, completionPricePerMillion: 10 });
    expect(gpt.capabilities).toContain('tools');
    expect(gpt.keys).toEqual(expect.arrayContaining(['operator', 'laptop']));
    const hidden = list.models.find((model) => model.name === 'deepseek/deepseek-r1:latest')!;
    expect(hidden).toMatchObject({ served: false, filterLine: null });
  });

  it('preview says what a new filter changes without applying it; PUT writes the file (keeping its mode) and /api/tags changes at once', async () => {
    const tags = async () => ((await call(gateway.url, 'GET', '/api/tags', { bearer: userKey })).json.models as Array<{ name: string }>).map((model) => model.name);
    expect(await tags()).toContain('anthropic/claude-sonnet-4.5:latest');
    const text = 'openai/*\n!openai/gpt-4.1\nbogus entry here\n';
    const preview = await admin('POST', '/admin/api/models-filter/preview', { body: { text } });
    expect(preview.status, preview.text).toBe(200);
    const expected: FilterPreview = {
      added: [],
      removed: ['anthropic/claude-sonnet-4.5:latest', 'openai/gpt-4.1:latest'],
      served: 2,
      problems: ['line 3: cannot understand "bogus entry here"'],
    };
    expect(preview.json).toEqual(expected);
    expect(readFileSync(filterFile, 'utf8')).toBe('openai/*\nanthropic/*\n');
    expect(await tags()).toContain('anthropic/claude-sonnet-4.5:latest');

    const saved = await admin('PUT', '/admin/api/models-filter', { body: { text } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.json).toEqual(expected);
    expect(readFileSync(filterFile, 'utf8')).toBe(text);
    expect(statSync(filterFile).mode & 0o777).toBe(0o640);
    expect((await tags()).sort()).toEqual(['openai/gpt-4o:latest', 'openai/text-embedding-3-small:latest'].sort());
    const models = (await admin('GET', '/admin/api/models')).json as ModelList;
    expect(models.models.find((model) => model.name === 'openai/gpt-4.1:latest')).toMatchObject({ served: false, filterLine: '2: !openai/gpt-4.1' });
    // The file watcher's reload of the same text changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await tags()).sort()).toEqual(['openai/gpt-4o:latest', 'openai/text-embedding-3-small:latest'].sort());

    expect((await admin('PUT', '/admin/api/models-filter', { body: { text: 'openai/*\nanthropic/*\n' } })).status).toBe(200);
    expect(await tags()).toContain('anthropic/claude-sonnet-4.5:latest');
    expect((await admin('PUT', '/admin/api/models-filter', { body: { words: 'x' } })).status).toBe(400);
  });
});

describe('usage, overview and live traffic', () => {
  it('usage JSON has the `usage` command\'s figures for the same database; the CSV is its CSV', async () => {
    expect((await chat(userKey, 'openai/gpt-4o')).status).toBe(200);
    const report = await admin('GET', '/admin/api/usage?by=key,model');
    expect(report.status, report.text).toBe(200);
    const ours = report.json as UsageReport;
    const theirs = JSON.parse(await usageCommand({ dbPath: usageDb, format: 'json', by: ['key,model'] }));
    expect(ours.since).toBe(theirs.since);
    expect(ours.until).toBe(theirs.until);
    expect(ours.by).toEqual(['key', 'model']);
    const snake = (row: any) => ({ key: row.key, model: row.model, requests: row.requests, prompt_tokens: row.promptTokens, completion_tokens: row.completionTokens, reasoning_tokens: row.reasoningTokens, cached_tokens: row.cachedTokens, cost_usd: row.costUsd });
    expect(ours.rows.map(snake)).toEqual(theirs.rows);
    expect(ours.rows.length).toBeGreaterThan(0);
    expect(ours.total.requests).toBe(theirs.total.requests);
    expect(ours.total.costUsd).toBe(theirs.total.cost_usd);
    // Admin calls are never recorded.
    expect(ours.rows.every((row) => row.key !== 'operator')).toBe(true);

    const csv = await admin('GET', '/admin/api/usage.csv?by=key,model');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text).toBe(`${await usageCommand({ dbPath: usageDb, format: 'csv', by: ['key,model'] })}\n`);

    const byDay = (await admin('GET', '/admin/api/usage')).json as UsageReport;
    expect(byDay.by).toEqual(['day']);
    expect(byDay.rows[0]!.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);

    const bad = await admin('GET', '/admin/api/usage?since=2026-13-01');
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('since 2026-13-01 is not a day');
    expect((await admin('GET', '/admin/api/usage?by=colour')).status).toBe(400);
  });

  it('the overview has the backends, models served, totals and version', async () => {
    const overview = (await admin('GET', '/admin/api/overview')).json as Overview;
    expect(overview.status).toBe('ready');
    expect(overview.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(overview.backends).toEqual([expect.objectContaining({ name: 'openrouter', state: 'up', lastError: null })]);
    expect(overview.usageLedger.state).toBe('writable');
    expect(overview.modelsServed).toBeGreaterThan(0);
    expect(overview.thisMonth.requests).toBeGreaterThan(0);
    expect(overview.today.requests).toBe(overview.thisMonth.requests);
    expect(overview.activeStreams).toBe(0);
  });

  it('live: server-sent events, the recent requests first, then each new one; never prompt or answer text', async () => {
    const controller = new AbortController();
    const response = await request(`${gateway.url}/admin/api/live`, { headers: { authorization: `Bearer ${adminKey}` }, signal: controller.signal });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    let received = '';
    const marker = 'PROMPT-MARKER-7731';
    const sawIt = (async () => {
      for await (const chunk of response.body) {
        received += String(chunk);
        if (received.includes('"keyName":"laptop"') && received.split('event: request').length > 3) return;
      }
    })();
    const answered = await chat(userKey, 'openai/gpt-4o', marker);
    expect(answered.status).toBe(200);
    const answerText = answered.json.message.content as string;
    await sawIt;
    controller.abort();
    const events = received.split('\n\n').filter((block) => block.startsWith('event: request'));
    const last = JSON.parse(events.at(-1)!.split('\ndata: ')[1]!);
    expect(last).toMatchObject({ method: 'POST', route: '/api/chat', model: 'openai/gpt-4o', keyName: 'laptop', status: 200, outcome: 'completed' });
    expect(last.promptTokens).toBeGreaterThan(0);
    expect(received).not.toContain(marker);
    expect(received).not.toContain(answerText);

    const recent = await admin('GET', '/admin/api/recent');
    expect(recent.json.requests[0]).toMatchObject({ route: '/api/chat', keyName: 'laptop' });
    expect(recent.text).not.toContain(marker);
    expect(recent.json.requests.every((entry: { route: string }) => !entry.route.startsWith('/admin'))).toBe(true);
  });

  it('no key, cookie value or CSRF token reaches a log line', () => {
    expect(logs.text).toContain('admin sign-in');
    for (const secret of secrets) expect(logs.text).not.toContain(secret);
  });
});

describe('a gateway without an admin key, without the page, without usage', () => {
  let bare: TestGateway;
  let bareDirectory: string;
  let bareUserKey: string;

  beforeAll(async () => {
    bareDirectory = mkdtempSync(join(tmpdir(), 'ollama-bridge-admin-bare-'));
    const bareKeys = join(bareDirectory, 'keys.json');
    bareUserKey = lastLine(createKeyCommand({ keysFile: bareKeys, name: 'user' }));
    bare = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: bareKeys }, { adminPageDir: join(bareDirectory, 'not-built') });
  });
  afterAll(async () => {
    await bare?.close();
    rmSync(bareDirectory, { recursive: true, force: true });
  });

  it('the page is a 503 saying to build it', async () => {
    const page = await call(bare.url, 'GET', '/admin/');
    expect(page.status).toBe(503);
    expect(page.text).toContain('npm run build');
  });

  it('the session says no admin key is configured; every other route is a 403 saying how to create one', async () => {
    expect((await call(bare.url, 'GET', '/admin/api/session')).json).toEqual({ signedIn: false, adminKeysConfigured: false });
    for (const bearer of [undefined, bareUserKey]) {
      const answer = await call(bare.url, 'GET', '/admin/api/keys', bearer === undefined ? {} : { bearer });
      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({ error: NO_ADMIN_KEY });
    }
  });

  it('failed sign-ins are limited per address: the sixth in a minute is a 429 with Retry-After', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await call(bare.url, 'POST', '/admin/api/session', { body: { key: `obk_wrong_${attempt}` } })).status).toBe(401);
    }
    const limited = await call(bare.url, 'POST', '/admin/api/session', { body: { key: bareUserKey } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json.error).toContain('too many failed sign-ins');
  });
});

describe('an admin key without a models filter or usage recording', () => {
  let plain: TestGateway;
  let plainDirectory: string;
  let plainAdminKey: string;

  beforeAll(async () => {
    plainDirectory = mkdtempSync(join(tmpdir(), 'ollama-bridge-admin-plain-'));
    const plainKeys = join(plainDirectory, 'keys.json');
    plainAdminKey = lastLine(createKeyCommand({ keysFile: plainKeys, name: 'root', scopes: ['admin'] }));
    plain = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: plainKeys, BRIDGE_API_KEYS: 'plain-team-key', USAGE: false });
  });
  afterAll(async () => {
    await plain?.close();
    rmSync(plainDirectory, { recursive: true, force: true });
  });

  it('usage is a 409 saying recording is off; the filter is not editable (PUT 409); --api-keys keys are listed read-only', async () => {
    const usage = await call(plain.url, 'GET', '/admin/api/usage', { bearer: plainAdminKey });
    expect(usage.status).toBe(409);
    expect(usage.json).toEqual({ error: 'usage recording is off (--no-usage)' });
    expect((await call(plain.url, 'GET', '/admin/api/usage.csv', { bearer: plainAdminKey })).status).toBe(409);
    const models = (await call(plain.url, 'GET', '/admin/api/models', { bearer: plainAdminKey })).json as ModelList;
    expect(models.filter).toEqual({ path: null, text: '', editable: false });
    expect(models.models.every((model) => model.served && model.filterLine === null)).toBe(true);
    const put = await call(plain.url, 'PUT', '/admin/api/models-filter', { bearer: plainAdminKey, body: { text: 'openai/*' } });
    expect(put.status).toBe(409);
    expect(put.json.error).toContain('--models-filter');
    const keys = (await call(plain.url, 'GET', '/admin/api/keys', { bearer: plainAdminKey })).json as KeyList;
    const team = keys.keys.find((key) => key.source === 'plain')!;
    expect(team.name).toBe('api-keys #1');
    const edit = await call(plain.url, 'PATCH', `/admin/api/keys/${team.id}`, { bearer: plainAdminKey, body: { name: 'renamed' } });
    expect(edit.status).toBe(409);
    expect(edit.json.error).toContain('--api-keys');
    const overview = (await call(plain.url, 'GET', '/admin/api/overview', { bearer: plainAdminKey })).json as Overview;
    expect(overview.usageLedger).toEqual({ state: 'off' });
    expect(overview.today.requests).toBe(0);
  });

  it('an empty live feed answers at once; closing the gateway ends it (it never ends by itself)', async () => {
    const started = Date.now();
    const response = await request(`${plain.url}/admin/api/live`, { headers: { authorization: `Bearer ${plainAdminKey}` } });
    expect(response.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    const ended = response.body.text();
    const closed = plain.app.close();
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))])).resolves.toBe('closed');
    await ended;
  });
});

describe('sessions across gateways (instances given one ADMIN_SESSION_SECRET behind a load balancer)', () => {
  let first: TestGateway;
  let second: TestGateway;
  let stranger: TestGateway;
  let sharedDirectory: string;
  let sharedAdminKey: string;

  beforeAll(async () => {
    sharedDirectory = mkdtempSync(join(tmpdir(), 'ollama-bridge-admin-shared-'));
    const sharedKeys = join(sharedDirectory, 'keys.json');
    sharedAdminKey = lastLine(createKeyCommand({ keysFile: sharedKeys, name: 'root', scopes: ['admin'] }));
    const settings = { BRIDGE_KEYS_FILE: sharedKeys };
    const secret = 'one secret for every instance, 32+ characters';
    first = await startGateway(fake.baseUrl, { ...settings, ADMIN_SESSION_SECRET: secret });
    second = await startGateway(fake.baseUrl, { ...settings, ADMIN_SESSION_SECRET: secret });
    stranger = await startGateway(fake.baseUrl, settings);
  });
  afterAll(async () => {
    await Promise.all([first?.close(), second?.close(), stranger?.close()]);
    rmSync(sharedDirectory, { recursive: true, force: true });
  });

  it('a session signed in on one works on another with the same secret (CSRF token included), not on one without it', async () => {
    const { cookie, csrf } = await signIn(first.url, sharedAdminKey);
    expect((await call(second.url, 'GET', '/admin/api/session', { cookie })).json).toMatchObject({ signedIn: true, keyName: 'root', csrfToken: csrf });
    const created = await call(second.url, 'POST', '/admin/api/keys', { cookie, csrf, body: { name: 'made-on-the-second' } });
    expect(created.status, created.text).toBe(201);
    expect((await call(stranger.url, 'GET', '/admin/api/keys', { cookie })).status).toBe(401);
  });

  it('a forged or altered cookie is no session', async () => {
    const { cookie } = await signIn(first.url, sharedAdminKey);
    const [name, value] = cookie.split('=') as [string, string];
    const [payload, signature] = value.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const longer = Buffer.from(JSON.stringify({ ...claims, e: claims.e + 86_400_000 })).toString('base64url');
    expect((await call(first.url, 'GET', '/admin/api/keys', { cookie: `${name}=${longer}.${signature}` })).status).toBe(401);
    expect((await call(first.url, 'GET', '/admin/api/keys', { cookie: `${name}=${payload}.${'A'.repeat(signature.length)}` })).status).toBe(401);
    expect((await call(first.url, 'GET', '/admin/api/keys', { cookie: `${name}=garbage` })).status).toBe(401);
    expect((await call(first.url, 'GET', '/admin/api/keys', { cookie })).status).toBe(200);
  });
});
