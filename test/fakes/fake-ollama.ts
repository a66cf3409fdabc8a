/**
 * A faithful fake Ollama on 127.0.0.1 for tests (reference: ollama-api.md §1–§3).
 *
 * - `GET|HEAD /`, `GET|HEAD /api/version`, `GET|HEAD /api/tags` (digests, details, local-time
 *   `modified_at` with a 9-digit fraction; `capabilities` and `details.context_length` only
 *   when `tagsCapabilities` emulates 0.30+), `GET /api/ps`, `POST /api/show`.
 * - `POST /api/chat` and `POST /api/generate`: NDJSON, one object per line, thinking lines for
 *   a thinking model unless `think:false`, tool calls in a `done:false` line (shape a) or in
 *   the final line (shape b) per model, a final `done:true` line with `done_reason` and the six
 *   metrics; `stream:false` → one aggregated object; no messages / empty prompt → `load`
 *   (`unload` with `keep_alive:0`); Ollama's 400/404 messages for bad requests.
 * - `POST /api/embed` (L2-normalised, `dimensions`), `POST /api/embeddings` (legacy).
 * - `POST /api/pull` (progress lines then success; a model named `missing…` fails mid-stream),
 *   `DELETE /api/delete`, `POST /api/copy` (200 with an empty body, or 404), `POST /api/create`,
 *   `HEAD|POST /api/blobs/:digest`.
 * - Unknown path → 404 `404 page not found`, wrong method → 405, both text/plain, as gin does.
 * - `script(model, ...)` overrides answers for one model (or `*`): HTTP status, raw NDJSON,
 *   generated reply/thinking/tool calls, write modes (per line, byte at a time, glued, seeded
 *   random cuts), delays, a pause mid-answer, an `{"error"}` line mid-stream, an abrupt close.
 * - `failTags(status)` makes `/api/tags` fail until cleared: a backend whose catalog is down.
 * - Request bodies decode as Go's encoding/json does: top-level keys match case-insensitively
 *   and the last spelling wins, so a test sees what a real Ollama would run.
 * - Every request is recorded with the bytes the fake answered and whether the client went away.
 */
import { seededCuts } from '../helpers/chunking.js';
import { decodeLikeGo } from './go-json.js';
import { readRequestBody, sleepUnlessClosed } from './shared.js';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  headers: IncomingMessage['headers'];
  /** The body decoded as Ollama's Go server does (whatever the content type; top-level keys case-insensitive, the last spelling wins), else the raw text, else undefined. */
  body: any;
  rawBody: Buffer;
  status?: number;
  /** Every byte the fake wrote for this request, in order. */
  written: Buffer[];
  /** Set when the client went away before the answer was fully written. */
  aborted: boolean;
  /** Resolves when the fake has finished with this request (written all, or saw the close). */
  settled: Promise<void>;
}

/** How the answer is cut into writes; `cutAt`: two writes, the first of that many bytes. */
export type WriteMode = 'event' | 'bytes' | 'glued' | { randomSeed: number; maxPiece?: number } | { cutAt: number };

export interface ScriptedToolCall {
  name: string;
  arguments: Record<string, unknown>;
  id?: string;
}

export interface OllamaScript {
  /** Routes the script applies to (default: `/api/chat` and `/api/generate`). */
  route?: string | string[];
  /** Answer with this HTTP status and JSON body (default `{"error":"scripted error"}`). */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering at all (no status, no headers). */
  headersDelayMs?: number;
  /** Raw NDJSON to send instead of the generated answer. */
  ndjson?: string;
  /** Generated answer parts, replacing the defaults. */
  reply?: string;
  thinking?: string;
  toolCalls?: ScriptedToolCall[];
  doneReason?: string;
  writeMode?: WriteMode;
  /** Pause before each write, in ms. */
  delayMs?: number;
  /** After this many lines, write `{"error": message}` and end (Ollama sends no done after it). */
  errorAfter?: { lines: number; message: string };
  /** After this many lines, destroy the socket: an upstream that dies mid-answer. */
  closeAfter?: { lines: number };
  /** After writing this many pieces, go silent for `ms` (then carry on): an idle stream. */
  pauseAfter?: { lines: number; ms: number };
}

export interface FakeOllamaModel {
  /** As listed: `name:tag`. */
  name: string;
  /** `general.architecture` and details.family. */
  family: string;
  parameterSize: string;
  quantization: string;
  contextLength: number;
  capabilities: string[];
  modifiedAt: string;
  size: number;
  digest: string;
  embeddingLength?: number;
  /** Tool calls in their own done:false line (a, the Go parser path) or inside the final line (b, llama-server). */
  toolCallShape?: 'a' | 'b';
  /** `function.index` of parallel calls: counted, or 0 on each (several built-in parsers). */
  toolCallIndexes?: 'counted' | 'zero';
  /** Whether tool calls carry ids (0.12.10+). */
  toolCallIds?: boolean;
}

export interface FakeOllamaOptions {
  models?: FakeOllamaModel[];
  version?: string;
  /** Emulate 0.30+: tags entries carry `capabilities` and `details.context_length`. */
  tagsCapabilities?: boolean;
}

export interface FakeOllama {
  baseUrl: string;
  requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  /** The most requests to `path` that were in flight at once. */
  maxConcurrent(path: string): number;
  /** TCP connections accepted so far. */
  connectionCount(): number;
  script(model: string, script: OllamaScript | ((body: any, path: string) => OllamaScript)): void;
  clearScripts(): void;
  models(): FakeOllamaModel[];
  setModels(models: FakeOllamaModel[]): void;
  /** Makes /api/tags fail with this status until cleared (undefined). */
  failTags(status: number | undefined): void;
  close(): Promise<void>;
}

const digestOf = (text: string): string => createHash('sha256').update(text).digest('hex');

function fakeModel(name: string, fields: Omit<FakeOllamaModel, 'name' | 'digest' | 'size'> & { size?: number }): FakeOllamaModel {
  return { name, digest: digestOf(name), size: fields.size ?? 2_019_393_189, ...fields };
}

export const DEFAULT_MODELS: FakeOllamaModel[] = [
  fakeModel('llama3.2:latest', { family: 'llama', parameterSize: '3.2B', quantization: 'Q4_K_M', contextLength: 131072, capabilities: ['completion', 'tools'], modifiedAt: '2025-05-04T17:37:44.706015396-07:00', toolCallShape: 'a', toolCallIds: false }),
  fakeModel('qwen3:8b', { family: 'qwen3', parameterSize: '8.2B', quantization: 'Q4_K_M', contextLength: 40960, capabilities: ['completion', 'tools', 'thinking'], modifiedAt: '2025-11-02T09:15:03.118230774+01:00', toolCallShape: 'a', toolCallIndexes: 'zero', toolCallIds: true, size: 5_225_388_164 }),
  fakeModel('gpt-oss:20b', { family: 'gptoss', parameterSize: '20.9B', quantization: 'MXFP4', contextLength: 131072, capabilities: ['completion', 'tools', 'thinking'], modifiedAt: '2025-10-20T22:01:59.000441102-04:00', toolCallShape: 'b', toolCallIds: true, size: 13_780_173_839 }),
  fakeModel('llava:7b', { family: 'llama', parameterSize: '7B', quantization: 'Q4_0', contextLength: 32768, capabilities: ['completion', 'vision'], modifiedAt: '2025-03-12T08:00:00.5-07:00', size: 4_733_363_377 }),
  fakeModel('all-minilm:latest', { family: 'bert', parameterSize: '23M', quantization: 'F16', contextLength: 512, capabilities: ['embedding'], modifiedAt: '2025-01-30T11:11:11.111111111-07:00', embeddingLength: 8, size: 45_960_996 }),
];

// ---- Names (ollama-api.md §1.3) --------------------------------------------------------

/** `Llama3.2` → `llama3.2:latest`; host and namespace defaults are not listed. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase().replace(/^registry\.ollama\.ai\//, '').replace(/^library\//, '');
  const lastSegment = lower.slice(lower.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? lower : `${lower}:latest`;
}

// ---- NDJSON builders (also used by tests to script answers) ------------------------------

let clockTail = 0;
/** RFC 3339 UTC with 9 fractional digits, as Ollama on Linux writes `created_at`. */
export function nanoTimestamp(): string {
  clockTail = (clockTail + 1) % 1_000_000;
  return new Date().toISOString().replace(/Z$/, `${String(clockTail).padStart(6, '0')}Z`);
}

export function chatLine(model: string, message: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ model, created_at: nanoTimestamp(), message: { role: 'assistant', content: '', ...message }, done: false, ...extra })}\n`;
}

export function metrics(promptTokens: number, outputTokens: number): Record<string, number> {
  return {
    total_duration: 1_000_000 + outputTokens * 20_000_000,
    load_duration: 1_334_875,
    prompt_eval_count: Math.max(1, promptTokens),
    prompt_eval_duration: 42_546_000,
    eval_count: Math.max(1, outputTokens),
    eval_duration: Math.max(1, outputTokens) * 20_000_000,
  };
}

/** Deterministic unnormalised vector for a text. */
export function fakeVector(text: string, dimensions: number): number[] {
  const vector: number[] = [];
  for (let index = 0; index < dimensions; index++) {
    let hash = 2166136261 ^ index;
    for (let position = 0; position < text.length; position++) hash = Math.imul(hash ^ text.charCodeAt(position), 16777619);
    vector.push(((hash >>> 0) % 2000) / 100 - 10);
  }
  return vector;
}

export function l2Normalize(vector: number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

export function splitForWriteMode(text: string, mode: WriteMode): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (mode === 'glued') return bytes.length === 0 ? [] : [bytes];
  if (mode === 'bytes') return [...bytes].map((byte) => Buffer.from([byte]));
  if (typeof mode === 'object' && 'cutAt' in mode) return [bytes.subarray(0, mode.cutAt), bytes.subarray(mode.cutAt)];
  if (typeof mode === 'object') return seededCuts(bytes, mode.randomSeed, mode.maxPiece ?? 64);
  return text.split(/(?<=\n)/).filter((piece) => piece !== '').map((piece) => Buffer.from(piece, 'utf8'));
}

const words = (text: string): string[] => text.match(/\S+\s*/g) ?? [];

function lastUserText(messages: any[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    if (messages[index]?.role === 'user') return String(messages[index].content ?? '');
  }
  return '';
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

// ---- The server -----------------------------------------------------------------------

const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/ps': ['GET'],
  '/api/show': ['POST'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
  '/api/embed': ['POST'],
  '/api/embeddings': ['POST'],
  '/api/pull': ['POST'],
  '/api/delete': ['DELETE'],
  '/api/copy': ['POST'],
  '/api/create': ['POST'],
  '/api/blobs/:digest': ['HEAD', 'POST'],
};

const THINK_LEVELS = new Set(['low', 'medium', 'high', 'max']);

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  let models = [...(options.models ?? DEFAULT_MODELS)];
  const version = options.version ?? '0.12.10';
  const scripts = new Map<string, OllamaScript | ((body: any, path: string) => OllamaScript)>();
  const requests: RecordedRequest[] = [];
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  const blobs = new Set<string>();
  let toolCallCounter = 0;
  let tagsFailure: number | undefined;

  const findModel = (name: unknown): FakeOllamaModel | undefined =>
    typeof name === 'string' && name !== '' ? models.find((model) => model.name === normalizeName(name)) : undefined;

  function scriptFor(model: unknown, path: string, body: any): OllamaScript | undefined {
    for (const key of [typeof model === 'string' ? model : '', typeof model === 'string' ? normalizeName(model) : '', '*']) {
      const entry = scripts.get(key);
      if (entry === undefined) continue;
      const script = typeof entry === 'function' ? entry(body, path) : entry;
      const routes = script.route === undefined ? ['/api/chat', '/api/generate'] : [script.route].flat();
      if (routes.includes(path)) return script;
    }
    return undefined;
  }

  /** Writes through the record, so tests can compare bytes. */
  function writer(response: ServerResponse, record: RecordedRequest) {
    return {
      head(status: number, headers: Record<string, string | number>): void {
        record.status = status;
        response.writeHead(status, headers);
      },
      write(piece: Buffer): boolean {
        record.written.push(piece);
        return response.write(piece);
      },
      end(piece?: Buffer | string): void {
        // Node sends no body for HEAD, so none is recorded either.
        if (piece !== undefined && piece.length > 0 && record.method !== 'HEAD') record.written.push(Buffer.from(piece));
        response.end(piece);
      },
      json(status: number, payload: unknown, headers: Record<string, string> = {}): void {
        const text = JSON.stringify(payload);
        this.head(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
        this.end(text);
      },
      text(status: number, text: string): void {
        this.head(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        this.end(text);
      },
      empty(status: number): void {
        this.head(status, { 'content-length': 0 });
        this.end();
      },
    };
  }
  type Writer = ReturnType<typeof writer>;

  async function writeNdjson(response: ServerResponse, out: Writer, record: RecordedRequest, ndjson: string, script: OllamaScript = {}): Promise<void> {
    out.head(200, { 'content-type': 'application/x-ndjson', ...script.headers });
    response.flushHeaders();
    let lines = ndjson.split(/(?<=\n)/).filter((line) => line !== '');
    if (script.errorAfter !== undefined) lines = [...lines.slice(0, script.errorAfter.lines), `${JSON.stringify({ error: script.errorAfter.message })}\n`];
    if (script.closeAfter !== undefined) lines = lines.slice(0, script.closeAfter.lines);
    let written = 0;
    for (const piece of splitForWriteMode(lines.join(''), script.writeMode ?? 'event')) {
      if (response.destroyed || record.aborted) return;
      if (script.pauseAfter !== undefined && written++ === script.pauseAfter.lines) await sleepUnlessClosed(response, script.pauseAfter.ms);
      if (script.delayMs) await sleepUnlessClosed(response, script.delayMs);
      else if (script.writeMode === 'bytes' || typeof script.writeMode === 'object') await new Promise((resolve) => setImmediate(resolve));
      if (response.destroyed || record.aborted) return;
      if (!out.write(piece)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
    }
    if (script.closeAfter !== undefined) {
      response.socket?.destroy();
      return;
    }
    out.end();
  }

  /** The answer a model "generates": thinking, text, tool calls, done reason and counts. */
  function generateAnswer(model: FakeOllamaModel, body: any, prompt: string, script: OllamaScript, tools: any[]) {
    const thinks = model.capabilities.includes('thinking') && body.think !== false;
    const thinking = script.thinking ?? (thinks ? `Thinking about "${prompt}".` : '');
    let toolCalls = script.toolCalls ?? [];
    if (script.toolCalls === undefined && tools.length > 0 && body.messages?.at(-1)?.role === 'user') {
      const tool = tools[0]?.function ?? {};
      const firstProperty = Object.keys(tool.parameters?.properties ?? {})[0];
      toolCalls = [{ name: String(tool.name), arguments: firstProperty === undefined ? {} : { [firstProperty]: prompt } }];
    }
    let pieces = words(script.reply ?? (toolCalls.length > 0 ? '' : `Echo from ${model.name}: ${prompt}`));
    const limit = body.options?.num_predict;
    const truncated = typeof limit === 'number' && limit > 0 && pieces.length > limit;
    if (truncated) pieces = pieces.slice(0, limit);
    const calls = toolCalls.map((call, index) => {
      const id = call.id ?? (model.toolCallIds ? `call_fake${String(++toolCallCounter).padStart(4, '0')}` : undefined);
      const fn = { index: model.toolCallIndexes === 'zero' ? 0 : index, name: call.name, arguments: call.arguments };
      return id === undefined ? { function: fn } : { id, function: fn };
    });
    const doneReason = script.doneReason ?? (truncated ? 'length' : 'stop');
    const outputTokens = words(thinking).length + pieces.length + calls.length * 8;
    return { thinking: words(thinking), pieces, calls, doneReason, outputTokens };
  }

  /** A scripted name that is not installed still answers, as a plain completion model. */
  function stubModel(name: string): FakeOllamaModel {
    return { ...DEFAULT_MODELS[0]!, name, capabilities: ['completion'] };
  }

  function promptTokens(messages: any[]): number {
    return messages.reduce((total, message) => total + words(String(message?.content ?? '')).length, 0);
  }

  function checkThink(model: FakeOllamaModel, think: unknown): void {
    if (typeof think === 'string' && !THINK_LEVELS.has(think)) {
      throw new HttpError(400, `invalid think value: ${JSON.stringify(think)} (must be "high", "medium", "low", "max", true, or false)`);
    }
    if ((think === true || typeof think === 'string') && !model.capabilities.includes('thinking')) {
      throw new HttpError(400, `"${model.name}" does not support thinking`);
    }
  }

  async function handleChat(response: ServerResponse, out: Writer, record: RecordedRequest): Promise<void> {
    const body = record.body ?? {};
    if (typeof body.model !== 'string' || body.model === '') throw new HttpError(400, 'model is required');
    const model = findModel(body.model);
    const script = scriptFor(body.model, '/api/chat', body);
    if (script?.headersDelayMs) await sleepUnlessClosed(response, script.headersDelayMs);
    if (response.destroyed) return;
    if (script?.status !== undefined) return out.json(script.status, script.body ?? { error: 'scripted error' }, script.headers);
    if (model === undefined && script === undefined) throw new HttpError(404, `model '${body.model}' not found`);
    const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
    const tools: any[] = Array.isArray(body.tools) ? body.tools : [];
    if (model !== undefined) {
      if (!model.capabilities.includes('completion')) throw new HttpError(400, `"${body.model}" does not support chat`);
      if (tools.length > 0 && !model.capabilities.includes('tools')) throw new HttpError(400, `registry.ollama.ai/library/${model.name} does not support tools`);
      checkThink(model, body.think);
      for (const message of messages) {
        for (const image of message?.images ?? []) if (typeof image !== 'string' || image.startsWith('data:')) throw new HttpError(400, 'illegal base64 data at input byte 4');
      }
    }
    if (messages.length === 0 && script?.ndjson === undefined) {
      return out.json(200, { model: body.model, created_at: nanoTimestamp(), message: { role: 'assistant', content: '' }, done: true, done_reason: body.keep_alive === 0 ? 'unload' : 'load' });
    }
    let ndjson = script?.ndjson;
    if (ndjson === undefined) {
      const answer = generateAnswer(model ?? stubModel(body.model), body, lastUserText(messages), script ?? {}, tools);
      ndjson = answer.thinking.map((piece) => chatLine(body.model, { thinking: piece })).join('');
      ndjson += answer.pieces.map((piece) => chatLine(body.model, { content: piece })).join('');
      const shapeB = model?.toolCallShape === 'b';
      if (answer.calls.length > 0 && !shapeB) ndjson += chatLine(body.model, { tool_calls: answer.calls });
      const finalMessage = answer.calls.length > 0 && shapeB ? { tool_calls: answer.calls } : {};
      ndjson += chatLine(body.model, finalMessage, { done: true, done_reason: answer.doneReason, ...metrics(promptTokens(messages), answer.outputTokens) });
    }
    if (body.stream === false) return sendAggregated(out, ndjson, 'message');
    await writeNdjson(response, out, record, ndjson, script);
  }

  async function handleGenerate(response: ServerResponse, out: Writer, record: RecordedRequest): Promise<void> {
    const body = record.body ?? {};
    const model = findModel(body.model);
    const script = scriptFor(body.model, '/api/generate', body);
    if (script?.headersDelayMs) await sleepUnlessClosed(response, script.headersDelayMs);
    if (response.destroyed) return;
    if (script?.status !== undefined) return out.json(script.status, script.body ?? { error: 'scripted error' }, script.headers);
    if (model === undefined && script === undefined) throw new HttpError(404, `model '${body.model ?? ''}' not found`);
    if (model !== undefined) {
      if (!model.capabilities.includes('completion')) throw new HttpError(400, `"${body.model}" does not support generate`);
      if (body.suffix && !model.capabilities.includes('insert')) throw new HttpError(400, `registry.ollama.ai/library/${model.name} does not support insert`);
      if (body.raw && (body.system || body.template || body.context)) throw new HttpError(400, 'raw mode does not support template, system, or context');
      checkThink(model, body.think);
    }
    const prompt = typeof body.prompt === 'string' ? body.prompt : '';
    const line = (fields: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
      `${JSON.stringify({ model: body.model, created_at: nanoTimestamp(), response: '', ...fields, done: false, ...extra })}\n`;
    if (prompt === '' && script?.ndjson === undefined) {
      return out.json(200, { model: body.model, created_at: nanoTimestamp(), response: '', done: true, done_reason: body.keep_alive === 0 ? 'unload' : 'load' });
    }
    let ndjson = script?.ndjson;
    if (ndjson === undefined) {
      const answer = generateAnswer(model ?? stubModel(body.model), body, prompt, script ?? {}, []);
      ndjson = answer.thinking.map((piece) => line({ thinking: piece })).join('') + answer.pieces.map((piece) => line({ response: piece })).join('');
      const context = body.raw ? {} : { context: [1, 2, 3] };
      ndjson += line({}, { done: true, done_reason: answer.doneReason, ...context, ...metrics(words(prompt).length, answer.outputTokens) });
    }
    if (body.stream === false) return sendAggregated(out, ndjson, 'response');
    await writeNdjson(response, out, record, ndjson, script);
  }

  /** `stream:false`: one object equal to the final line with text, thinking and tool calls gathered. */
  function sendAggregated(out: Writer, ndjson: string, field: 'message' | 'response'): void {
    let content = '';
    let thinking = '';
    const toolCalls: unknown[] = [];
    let final: any;
    for (const text of ndjson.split('\n')) {
      if (text === '') continue;
      const parsed = JSON.parse(text);
      if (parsed.error !== undefined) return out.json(500, { error: parsed.error });
      const part = field === 'message' ? parsed.message ?? {} : parsed;
      content += part[field === 'message' ? 'content' : 'response'] ?? '';
      thinking += part.thinking ?? '';
      toolCalls.push(...(part.tool_calls ?? []));
      if (parsed.done) final = parsed;
    }
    if (final === undefined) return out.json(500, { error: 'unexpected end of response' });
    if (field === 'message') {
      final.message = { role: 'assistant', content, ...(thinking ? { thinking } : {}), ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
    } else {
      final.response = content;
      if (thinking) final.thinking = thinking;
    }
    out.json(200, final);
  }

  async function handleEmbed(response: ServerResponse, out: Writer, record: RecordedRequest, legacy: boolean): Promise<void> {
    const body = record.body ?? {};
    const path = legacy ? '/api/embeddings' : '/api/embed';
    const script = scriptFor(body.model, path, body);
    if (script?.headersDelayMs) await sleepUnlessClosed(response, script.headersDelayMs);
    if (response.destroyed) return;
    if (script?.status !== undefined) return out.json(script.status, script.body ?? { error: 'scripted error' }, script.headers);
    if (script?.body !== undefined) return out.json(200, script.body, script.headers);
    if (typeof body.model !== 'string' || body.model === '') throw new HttpError(404, "model '' not found");
    const model = findModel(body.model);
    if (model === undefined) throw new HttpError(404, `model "${body.model}" not found, try pulling it first`);
    const dimensions = model.embeddingLength ?? 8;
    if (legacy) {
      const prompt = typeof body.prompt === 'string' ? body.prompt : '';
      return out.json(200, { embedding: prompt === '' ? [] : fakeVector(prompt, dimensions) });
    }
    const input = body.input;
    if (input !== undefined && typeof input !== 'string' && !(Array.isArray(input) && input.every((item: unknown) => typeof item === 'string'))) {
      throw new HttpError(400, 'invalid input type');
    }
    const inputs: string[] = input === undefined || input === '' ? [] : typeof input === 'string' ? [input] : input;
    if (inputs.length === 0) return out.json(200, { model: body.model, embeddings: [] });
    const size = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(body.dimensions, dimensions) : dimensions;
    out.json(200, {
      model: body.model,
      embeddings: inputs.map((text) => l2Normalize(fakeVector(text, dimensions).slice(0, size))),
      total_duration: 14_143_917,
      load_duration: 1_019_500,
      prompt_eval_count: inputs.reduce((total, text) => total + Math.max(1, words(text).length), 0),
    });
  }

  function details(model: FakeOllamaModel, withLengths: boolean): Record<string, unknown> {
    const result: Record<string, unknown> = { parent_model: '', format: 'gguf', family: model.family, families: [model.family], parameter_size: model.parameterSize, quantization_level: model.quantization };
    if (withLengths) {
      result.context_length = model.contextLength;
      if (model.embeddingLength !== undefined) result.embedding_length = model.embeddingLength;
    }
    return result;
  }

  function tagsEntry(model: FakeOllamaModel): Record<string, unknown> {
    const entry: Record<string, unknown> = { name: model.name, model: model.name, modified_at: model.modifiedAt, size: model.size, digest: model.digest, details: details(model, options.tagsCapabilities === true) };
    if (options.tagsCapabilities) entry.capabilities = model.capabilities;
    return entry;
  }

  async function handleShow(response: ServerResponse, out: Writer, record: RecordedRequest): Promise<void> {
    const body = record.body ?? {};
    const name = body.model || body.name;
    if (typeof name !== 'string' || name === '') throw new HttpError(400, 'model is required');
    const script = scriptFor(name, '/api/show', body);
    if (script?.headersDelayMs) await sleepUnlessClosed(response, script.headersDelayMs);
    if (response.destroyed) return;
    if (script?.status !== undefined) return out.json(script.status, script.body ?? { error: 'scripted error' }, script.headers);
    const model = findModel(name);
    if (model === undefined) throw new HttpError(404, `model '${normalizeName(name)}' not found`);
    out.json(200, {
      license: 'FAKE LICENSE',
      modelfile: `# Modelfile generated by "ollama show"\n# To build a new Modelfile based on this, replace FROM with:\n# FROM ${model.name}\n\nFROM /fake/blobs/sha256-${model.digest}\nPARAMETER stop "<|eot_id|>"\n`,
      parameters: `${'stop'.padEnd(30)} "<|eot_id|>"`,
      template: '{{ .Prompt }}',
      details: details(model, false),
      model_info: {
        'general.architecture': model.family,
        'general.basename': model.name.split(':')[0],
        'general.parameter_count': 3_212_749_888,
        [`${model.family}.context_length`]: model.contextLength,
        [`${model.family}.embedding_length`]: model.embeddingLength ?? 3072,
        // A vision projector's own context length must not be mistaken for the model's.
        ...(model.capabilities.includes('vision') ? { 'clip.context_length': 77 } : {}),
        'tokenizer.ggml.tokens': null,
      },
      capabilities: model.capabilities,
      modified_at: model.modifiedAt,
    });
  }

  async function handlePull(response: ServerResponse, out: Writer, record: RecordedRequest): Promise<void> {
    const body = record.body ?? {};
    const name = body.model || body.name;
    if (typeof name !== 'string' || name === '') throw new HttpError(400, 'model is required');
    const missing = /(^|\/)missing/.test(normalizeName(name));
    const script = scriptFor(name, '/api/pull', body);
    if (script?.headersDelayMs) await sleepUnlessClosed(response, script.headersDelayMs);
    if (response.destroyed) return;
    if (body.stream === false) {
      if (missing) throw new HttpError(500, 'pull model manifest: file does not exist');
      addModel(name);
      return out.json(200, { status: 'success' });
    }
    const layer = digestOf(`${name}-layer`);
    const lines: unknown[] = [{ status: 'pulling manifest' }];
    if (missing) {
      lines.push({ error: 'pull model manifest: file does not exist' });
    } else {
      const total = 2_019_377_376;
      lines.push(
        { status: `pulling ${layer.slice(0, 12)}`, digest: `sha256:${layer}`, total },
        { status: `pulling ${layer.slice(0, 12)}`, digest: `sha256:${layer}`, total, completed: 241_970 },
        { status: `pulling ${layer.slice(0, 12)}`, digest: `sha256:${layer}`, total, completed: total },
        { status: 'verifying sha256 digest' },
        { status: 'writing manifest' },
        { status: 'success' },
      );
      addModel(name);
    }
    await writeNdjson(response, out, record, lines.map((line) => `${JSON.stringify(line)}\n`).join(''), script);
  }

  function addModel(name: string, from?: FakeOllamaModel): void {
    const normalized = normalizeName(name);
    if (findModel(normalized)) return;
    const base = from ?? DEFAULT_MODELS[0]!;
    models.push({ ...base, name: normalized, digest: digestOf(normalized), modifiedAt: '2026-01-02T03:04:05.123456789+00:00' });
  }

  async function handleCreate(response: ServerResponse, out: Writer, record: RecordedRequest): Promise<void> {
    const body = record.body ?? {};
    const name = body.model || body.name;
    if (typeof name !== 'string' || name === '') throw new HttpError(400, 'model is required');
    const from = body.from === undefined ? undefined : findModel(body.from);
    if (body.from !== undefined && from === undefined) throw new HttpError(404, `model "${body.from}" not found`);
    const lines: unknown[] = [{ status: 'reading model metadata' }];
    if (body.system) lines.push({ status: 'creating system layer' });
    if (from) lines.push({ status: `using existing layer sha256:${from.digest}` });
    lines.push({ status: 'writing manifest' }, { status: 'success' });
    addModel(name, from);
    if (body.stream === false) return out.json(200, { status: 'success' });
    await writeNdjson(response, out, record, lines.map((line) => `${JSON.stringify(line)}\n`).join(''), scriptFor(name, '/api/create', body));
  }

  function handleDelete(out: Writer, record: RecordedRequest): void {
    const name = record.body?.model || record.body?.name;
    if (typeof name !== 'string' || name === '') throw new HttpError(400, 'model is required');
    const model = findModel(name);
    if (model === undefined) throw new HttpError(404, `model '${name}' not found`);
    models = models.filter((candidate) => candidate !== model);
    out.empty(200);
  }

  function handleCopy(out: Writer, record: RecordedRequest): void {
    const { source, destination } = record.body ?? {};
    const model = findModel(source);
    if (model === undefined) throw new HttpError(404, `model "${source}" not found`);
    if (typeof destination !== 'string' || destination === '') throw new HttpError(400, 'destination name is required');
    addModel(destination, model);
    out.empty(200);
  }

  function handleBlob(out: Writer, record: RecordedRequest, digest: string): void {
    if (record.method === 'HEAD') return blobs.has(digest) ? out.empty(200) : out.json(404, { error: `blob "${digest}" not found` });
    const actual = `sha256:${createHash('sha256').update(record.rawBody).digest('hex')}`;
    if (actual !== digest) throw new HttpError(400, `digest mismatch, expected "${digest}", got "${actual}"`);
    if (blobs.has(digest)) return out.empty(200);
    blobs.add(digest);
    out.empty(201);
  }

  async function route(response: ServerResponse, out: Writer, record: RecordedRequest, pathname: string): Promise<void> {
    const blob = /^\/api\/blobs\/([^/]+)$/.exec(pathname);
    const routeKey = blob ? '/api/blobs/:digest' : pathname;
    const methods = ROUTES[routeKey];
    if (methods === undefined) return out.text(404, '404 page not found');
    if (!methods.includes(record.method)) return out.text(405, '405 method not allowed');
    const jsonRoute = record.method === 'POST' && blob === null;
    if (jsonRoute && record.rawBody.length === 0) throw new HttpError(400, 'missing request body');
    if (jsonRoute && typeof record.body === 'string') throw new HttpError(400, `invalid character '${record.body.trim()[0] ?? ' '}' looking for beginning of value`);
    switch (routeKey) {
      case '/':
        return out.text(200, 'Ollama is running');
      case '/api/version':
        return out.json(200, { version });
      case '/api/tags':
        if (tagsFailure !== undefined) return out.json(tagsFailure, { error: 'tags unavailable' });
        return out.json(200, { models: [...models].sort((left, right) => Date.parse(right.modifiedAt) - Date.parse(left.modifiedAt)).map(tagsEntry) });
      case '/api/ps':
        return out.json(200, { models: [] });
      case '/api/show':
        return handleShow(response, out, record);
      case '/api/chat':
        return handleChat(response, out, record);
      case '/api/generate':
        return handleGenerate(response, out, record);
      case '/api/embed':
        return handleEmbed(response, out, record, false);
      case '/api/embeddings':
        return handleEmbed(response, out, record, true);
      case '/api/pull':
        return handlePull(response, out, record);
      case '/api/create':
        return handleCreate(response, out, record);
      case '/api/delete':
        return handleDelete(out, record);
      case '/api/copy':
        return handleCopy(out, record);
      default:
        return handleBlob(out, record, decodeURIComponent(blob![1]!));
    }
  }

  const server: Server = createServer((request, response) => {
    void readRequestBody(request).then(({ rawBody, body }) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      let settle!: () => void;
      const record: RecordedRequest = {
        method: request.method ?? 'GET',
        path: url.pathname + url.search,
        headers: request.headers,
        body: typeof body === 'object' && body !== null ? decodeLikeGo(rawBody.toString('utf8')) : body,
        rawBody,
        written: [],
        aborted: false,
        settled: new Promise((resolve) => (settle = resolve)),
      };
      requests.push(record);
      const running = (inFlight.get(url.pathname) ?? 0) + 1;
      inFlight.set(url.pathname, running);
      peak.set(url.pathname, Math.max(peak.get(url.pathname) ?? 0, running));
      response.on('close', () => {
        inFlight.set(url.pathname, (inFlight.get(url.pathname) ?? 1) - 1);
        if (!response.writableFinished) record.aborted = true;
        settle();
      });
      const out = writer(response, record);
      route(response, out, record, url.pathname).catch((error: unknown) => {
        if (response.headersSent) return void response.destroy();
        if (error instanceof HttpError) return out.json(error.status, { error: error.message });
        out.json(500, { error: String(error) });
      });
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((record) => record.path === path),
    maxConcurrent: (path) => peak.get(path) ?? 0,
    connectionCount: () => connections,
    script: (model, script) => void scripts.set(model, script),
    clearScripts: () => scripts.clear(),
    models: () => models,
    setModels: (next) => void (models = [...next]),
    failTags: (status) => void (tagsFailure = status),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
