/**
 * A bounded, seeded fuzz run against the real gateway as a child process (so a crash shows as
 * an exit): random and mutated URLs on every route of both front doors, odd headers, and
 * mutated JSON bodies. Every answer must be a success or a well-formed error in the route's
 * dialect with a 4xx/5xx status (a 5xx only where it is no fault of the input: 501 for model
 * management with no upstream Ollama), and the process must still answer at the end.
 *
 * FUZZ_SEED and FUZZ_CASES override the defaults; the seed is printed, and a failure lists the
 * cases that failed, so any run can be repeated exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OllamaErrorResponse } from '../../schemas/ollama.js';
import { OpenAiErrorResponse } from '../../schemas/openai.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, type RunningCli } from '../helpers/cli-process.js';
import { requestBytes, sendRaw, type RawAnswer } from '../helpers/raw-http.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_251_206);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const CONCURRENCY = 8;
const KEY = 'fuzz-test-key-0123456789abcdef';

let scratch: string;
let fake: FakeOpenRouter;
let cli: RunningCli;
let port: number;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-fuzz-'));
  const emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  fake = await startFakeOpenRouter();
  port = await freePort();
  cli = spawnCli(['--dotenv', emptyEnvFile, '--openrouter-url', fake.baseUrl, '--port', String(port), '--log-level', 'warn', '--receive-timeout', '10000'], {
    env: { OPENROUTER_API_KEY: FAKE_API_KEY, BRIDGE_API_KEYS: KEY },
  });
  await waitUntilServing();
}, 30_000);
afterAll(async () => {
  killAllClis();
  await fake?.close();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: free } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return free;
}

async function waitUntilServing(): Promise<void> {
  const deadline = Date.now() + 25_000;
  while (Date.now() < deadline) {
    if (cli.child.exitCode !== null) throw new Error(`the gateway exited at start-up: ${cli.stderr()}`);
    const answer = await sendRaw(port, requestBytes('GET', '/api/tags', [['Authorization', `Bearer ${KEY}`]]), { timeoutMs: 2000 }).catch(() => undefined);
    if (answer?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the gateway never served its model list; stderr: ${cli.stderr()}`);
}

// ---- The generator: a small seeded PRNG (mulberry32) and what it picks from ----------------

type Random = () => number;

function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (random: Random, probability: number): boolean => random() < probability;
const integer = (random: Random, below: number): number => Math.floor(random() * below);

/** Every route of both front doors (src/frontends/ollama/plugin.ts, src/frontends/openai/plugin.ts). */
const ROUTES: Array<{ method: string; path: string }> = [
  { method: 'GET', path: '/' },
  { method: 'GET', path: '/api/version' },
  { method: 'GET', path: '/api/tags' },
  { method: 'GET', path: '/api/ps' },
  { method: 'POST', path: '/api/show' },
  { method: 'POST', path: '/api/chat' },
  { method: 'POST', path: '/api/generate' },
  { method: 'POST', path: '/api/embed' },
  { method: 'POST', path: '/api/embeddings' },
  { method: 'POST', path: '/api/pull' },
  { method: 'POST', path: '/api/push' },
  { method: 'POST', path: '/api/create' },
  { method: 'POST', path: '/api/copy' },
  { method: 'DELETE', path: '/api/delete' },
  { method: 'HEAD', path: '/api/blobs/sha256:0123abcd' },
  { method: 'POST', path: '/api/blobs/sha256:0123abcd' },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/v1/models/openai/gpt-4o' },
  { method: 'POST', path: '/v1/chat/completions' },
  { method: 'POST', path: '/v1/completions' },
  { method: 'POST', path: '/v1/embeddings' },
];

const MANAGEMENT = new Set(['/api/pull', '/api/push', '/api/create', '/api/copy', '/api/delete']);

const user = [{ role: 'user', content: 'hi' }];
const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
const tools = [{ type: 'function', function: { name: 'lookup', description: 'find', parameters: schema } }];

/** A valid body for each JSON route, to mutate. */
const VALID_BODIES: Record<string, unknown> = {
  '/api/show': { model: 'openai/gpt-4o' },
  '/api/chat': { model: 'openai/gpt-4o', messages: user, stream: false, format: schema, options: { temperature: 0.5, stop: ['\n'] }, tools },
  '/api/generate': { model: 'openai/gpt-4o', prompt: 'hi', stream: false, format: 'json', options: { num_predict: 5 }, images: [] },
  '/api/embed': { model: 'openai/text-embedding-3-small', input: ['a', 'b'] },
  '/api/embeddings': { model: 'openai/text-embedding-3-small', prompt: 'a' },
  '/api/pull': { model: 'llama3.2' },
  '/api/copy': { source: 'a', destination: 'b' },
  '/api/delete': { model: 'a' },
  '/v1/chat/completions': { model: 'openai/gpt-4o', messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } }, tools, max_tokens: 5 },
  '/v1/completions': { model: 'openai/gpt-4o', prompt: 'hi', max_tokens: 5 },
  '/v1/embeddings': { model: 'openai/text-embedding-3-small', input: 'hi' },
};

const PERCENT_NOISE = ['%', '%z', '%zz', '%2', '%C0', '%C0%AF', '%E0%A4', '%ED%A0%80', '%FF', '%00', '%2F', '%25', '%20', '%3F', '%23', '%E2%82%AC'];
const RAW_NOISE = ['..', '.', '//', ';', '~', 'é', '€', '𝄞', '\u00ff', '?', '#', '&', '=', '+', '@', ':', "'", '*', '$'];

function noise(random: Random): string {
  return chance(random, 0.6) ? pick(random, PERCENT_NOISE) : pick(random, RAW_NOISE);
}

/** A path: a real route, mutated, maybe behind a key prefix, maybe with a query. */
function fuzzPath(random: Random, route: string): string {
  let path = route;
  const mutations = integer(random, 4);
  for (let index = 0; index < mutations; index++) {
    const at = integer(random, path.length + 1);
    switch (integer(random, 6)) {
      case 0: path = path.slice(0, at) + noise(random) + path.slice(at); break;
      case 1: path = `${path}/${'a'.repeat(pick(random, [1, 100, 1000, 5000]))}`; break;
      case 2: path = path.slice(0, at) + path.slice(at + 1 + integer(random, 3)); break;
      case 3: path = `${path}/..${pick(random, ['', '/', '/api', '/v1'])}`; break;
      case 4: path = path.toUpperCase(); break;
      default: path = path.replace(/\/+$/, '') + pick(random, ['/', '//', '/.', '']);
    }
  }
  if (chance(random, 0.25)) path += `?${pick(random, ['x=1', 'key=abc', 'a=%zz', 'a=%E0%A4', 'a[b]=c&a[b]=d', '=', '&&', 'q=€', `long=${'y'.repeat(2000)}`])}`;
  if (chance(random, 0.3)) path = `/key/${pick(random, [KEY, KEY, encodeURIComponent(KEY), 'wrong', '', '%', '%zz', `${KEY}%`, 'a%2Fb', '€'])}${path}`;
  if (!path.startsWith('/') && chance(random, 0.7)) path = `/${path}`;
  // What an HTTP client can put on a request line: no spaces or line breaks; non-ASCII as UTF-8.
  return path.replace(/[\s]/g, '%20');
}

function fuzzHeaders(random: Random): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  // Mostly a valid key, so that most cases get past the key check to the body.
  const auth = random();
  if (auth < 0.6) headers.push(['Authorization', pick(random, [`Bearer ${KEY}`, `bearer ${KEY}`, `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`])]);
  else if (auth < 0.75) headers.push(['Authorization', pick(random, ['Bearer', 'Bearer ', 'Bearer ollama', 'Basic !!!', 'Basic ', `Token ${KEY}`, `Bearer ${'k'.repeat(5000)}`, 'Bearer \u00e9\u00ff'])]);
  else if (auth < 0.85) headers.push([pick(random, ['X-API-Key', 'api-key']), pick(random, [KEY, KEY, 'wrong', ''])]);
  if (chance(random, 0.15)) headers.push(['Origin', pick(random, ['http://localhost:3000', 'https://evil.example', 'null', 'file://', '::::', 'http://127.0.0.1'])]);
  if (chance(random, 0.15)) headers.push(['Host', pick(random, ['localhost', `127.0.0.1:${port}`, 'evil.example', '[::1]:11434', '', 'a'.repeat(300)])]);
  if (chance(random, 0.1)) headers.push(['Accept', pick(random, ['text/event-stream', '*/*', 'application/x-ndjson', ''])]);
  return headers;
}

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'garbage', '/', ''];

/** A random JSON value of a wrong type, or a hostile size or shape. */
function oddValue(random: Random): unknown {
  switch (integer(random, 14)) {
    case 0: return null;
    case 1: return pick(random, [true, false]);
    case 2: return pick(random, [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 1e-320]);
    case 3: return '';
    case 4: return 'x'.repeat(pick(random, [10, 10_000, 200_000]));
    case 5: return pick(random, ['\u0000', '\ud800', '€𝄞', '\u202e', '"}', '\\']);
    case 6: return [];
    case 7: return {};
    case 8: return Array.from({ length: pick(random, [10, 1000, 20_000]) }, (_, index) => index);
    case 9: return deepValue(pick(random, [10, 100, 511, 600, 5000]));
    case 10: return { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } };
    case 11: return [{ role: 'user', content: 'x' }, null, 5];
    case 12: return { type: 'object', properties: { a: deepValue(50) } };
    default: return pick(random, ['openai/gpt-4o', 'nope/nothing', 'gpt-4o:latest', '../etc/passwd', 'a'.repeat(300)]);
  }
}

/**
 * Nesting `depth` levels deep, as a placeholder replaced in the serialised text (deep values
 * would overflow the test's own stack in JSON.stringify and structuredClone).
 */
function deepValue(depth: number): string {
  return `@@deep:${depth}@@`;
}

function expandDeepValues(text: string): string {
  return text.replace(/"@@deep:(\d+)@@"/g, (_match, digits: string) => {
    const depth = Number(digits);
    const open = Array.from({ length: depth }, (_, index) => (index % 2 === 0 ? '[' : '{"a":')).join('');
    const close = Array.from({ length: depth }, (_, index) => (index % 2 === 0 ? ']' : '}')).reverse().join('');
    return `${open}1${close}`;
  });
}

/** Sets, deletes or adds a value somewhere in a copy of `value`. */
function mutateValue(random: Random, value: unknown): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  let target: Record<string, unknown> | unknown[] = copy;
  // Walk down a random path of objects and arrays.
  for (let depth = 0; depth < 4 && chance(random, 0.5); depth++) {
    const keys = Object.keys(target);
    if (keys.length === 0) break;
    const next = target[pick(random, keys)];
    if (typeof next !== 'object' || next === null) break;
    target = next as Record<string, unknown>;
  }
  const keys = Object.keys(target);
  const key = keys.length > 0 && chance(random, 0.8) ? pick(random, keys) : pick(random, ['extra', 'stream', 'model', 'messages', 'format', 'options', 'keep_alive', 'think', 'images', 'input']);
  if (chance(random, 0.2)) delete target[key];
  else target[key] = oddValue(random);
  return copy;
}

/** Bytes for a body: mutated valid JSON, then sometimes broken as bytes. */
function fuzzBody(random: Random, path: string): Buffer {
  const valid = VALID_BODIES[path] ?? pick(random, Object.values(VALID_BODIES));
  let value = valid;
  const mutations = integer(random, 3);
  for (let index = 0; index < mutations; index++) value = mutateValue(random, value);
  // A stream of a few quick pieces from the fake is a fine answer too.
  if (chance(random, 0.2) && typeof value === 'object' && value !== null) (value as Record<string, unknown>).stream = true;
  let bytes = Buffer.from(expandDeepValues(JSON.stringify(value) ?? 'null'));
  switch (integer(random, 10)) {
    case 0: return bytes.subarray(0, integer(random, bytes.length));
    case 1: {
      const at = integer(random, bytes.length);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(pick(random, [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x00], [0xf0, 0x9d]])), bytes.subarray(at)]);
    }
    case 2: return Buffer.from(pick(random, ['', ' ', 'null', '[]', '"text"', '0', '{', '}', '{"model":"openai/gpt-4o","model":"x","MODEL":"y"}', '\ufeff{}', `${'['.repeat(100_000)}`]));
    case 3: bytes = Buffer.from(Array.from({ length: integer(random, 200) }, () => integer(random, 256))); return bytes;
    default: return bytes;
  }
}

interface FuzzCase {
  index: number;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
}

function fuzzCase(random: Random, index: number): FuzzCase {
  const route = pick(random, ROUTES);
  const method = chance(random, 0.85) ? route.method : pick(random, ['GET', 'POST', 'HEAD', 'DELETE', 'PUT', 'PATCH', 'OPTIONS']);
  const path = chance(random, 0.5) ? route.path : fuzzPath(random, route.path);
  const headers = fuzzHeaders(random);
  let body: Buffer | undefined;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH' || (method === 'DELETE' && chance(random, 0.5))) {
    body = fuzzBody(random, route.path);
    if (chance(random, 0.9)) headers.push(['Content-Type', pick(random, CONTENT_TYPES)]);
  }
  return { index, method, path, headers, body };
}

// ---- The checks ---------------------------------------------------------------------------

/** The path the gateway routes: without a `/key/<KEY>` prefix or a query. */
function routedPath(target: string): string {
  let path = target;
  if (path.startsWith('/key/')) {
    const end = path.slice('/key/'.length).search(/[/?]/);
    path = end === -1 ? '/' : path.slice('/key/'.length + end);
    if (path.startsWith('?')) path = `/${path}`;
  }
  if (/^https?:\/\//i.test(path)) path = path.replace(/^https?:\/\/[^/]*/i, '') || '/';
  return path.split(/[?#]/, 1)[0]!;
}

function isOpenAiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/');
}

/** Why an answer is not acceptable, or undefined. */
function problemWith(fuzz: FuzzCase, answer: RawAnswer): string | undefined {
  if (answer.status === 0) return `no answer (${answer.body.length} bytes before the close)`;
  if (answer.status < 400) return answer.status >= 200 && answer.status < 300 ? undefined : `status ${answer.status}`;
  const path = routedPath(fuzz.path);
  if (answer.status >= 500 && !(answer.status === 501 && (MANAGEMENT.has(path) || path.startsWith('/api/blobs/')))) {
    return `status ${answer.status} for bad input: ${answer.body.toString().slice(0, 200)}`;
  }
  if (fuzz.method === 'HEAD') return undefined;
  if (answer.headers['content-type'] !== 'application/json; charset=utf-8') return `error content-type ${answer.headers['content-type']}`;
  let json: unknown;
  try {
    json = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return `error body is not JSON: ${answer.body.toString().slice(0, 200)}`;
  }
  const schema = isOpenAiPath(path) ? OpenAiErrorResponse : OllamaErrorResponse;
  const parsed = schema.safeParse(json);
  return parsed.success ? undefined : `error body not in the ${isOpenAiPath(path) ? 'OpenAI' : 'Ollama'} dialect: ${JSON.stringify(json).slice(0, 200)}`;
}

function describeCase(fuzz: FuzzCase): string {
  const body = fuzz.body === undefined ? '' : ` body(${fuzz.body.length}B)=${JSON.stringify(fuzz.body.subarray(0, 120).toString('latin1'))}`;
  return `#${fuzz.index} ${fuzz.method} ${fuzz.path.slice(0, 150)} headers=${JSON.stringify(fuzz.headers.map(([name, value]) => `${name}: ${value.slice(0, 60)}`))}${body}`;
}

describe('fuzz: URLs, headers and JSON bodies against the gateway process', () => {
  it(`${CASES} seeded cases: every answer a success or a well-formed error in the route's dialect, and the process stays up`, async () => {
    // Printed so that a failing run can be repeated: FUZZ_SEED=<seed> npx vitest run test/integration/fuzz.test.ts
    console.log(`fuzz seed ${SEED}, ${CASES} cases`);
    const random = mulberry32(SEED);
    // Generated up front, in order, so the cases do not depend on answer timing.
    const cases = Array.from({ length: CASES }, (_, index) => fuzzCase(random, index));
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cases.length && cli.child.exitCode === null) {
        const fuzz = cases[next++]!;
        const answer = await sendRaw(port, requestBytes(fuzz.method, fuzz.path, fuzz.headers, fuzz.body), { timeoutMs: 15_000 });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const problem = problemWith(fuzz, answer);
        if (problem !== undefined) failures.push(`${problem}\n    ${describeCase(fuzz)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([left], [right]) => left - right)))}`);

    expect(cli.child.exitCode, `the gateway exited during the fuzz run (seed ${SEED}); stderr:\n${cli.stderr().slice(-3000)}`).toBeNull();
    // The gateway logs at warn: what it said about a 5xx is in its stdout.
    const warnings = cli.stdout().split('\n').filter((line) => /"level":(40|50|60)/.test(line)).slice(0, 10).join('\n');
    expect(failures.slice(0, 20), `${failures.length} of ${CASES} cases failed (seed ${SEED}); the gateway's warnings:\n${warnings}`).toEqual([]);
    const after = await sendRaw(port, requestBytes('GET', '/api/tags', [['Authorization', `Bearer ${KEY}`]]));
    expect(after.status).toBe(200);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  }, 120_000);
});
