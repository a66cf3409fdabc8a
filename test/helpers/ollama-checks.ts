/**
 * Raw-HTTP helpers for the Ollama integration tests: undici `request()` as the client, and
 * every received line checked against the zod response schemas in schemas/ollama.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import { request } from 'undici';
import { OllamaChatResponse, OllamaErrorResponse, OllamaGenerateResponse } from '../../schemas/ollama.js';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** POSTs a JSON value (or a raw string, sent as is) and reads the whole answer. */
export async function postRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const response = await request(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

export async function getRaw(url: string, method: 'GET' | 'HEAD' | 'DELETE' = 'GET'): Promise<HttpResult> {
  const response = await request(url, { method });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** Splits an NDJSON body; every line must be one JSON object terminated by `\n` (no blank lines). */
export function ndjson(text: string): any[] {
  expect(text.endsWith('\n'), 'an NDJSON body ends with a newline').toBe(true);
  const lines = text.slice(0, -1).split('\n');
  for (const line of lines) expect(line, 'no blank NDJSON lines').not.toBe('');
  return lines.map((line) => JSON.parse(line));
}

export type Endpoint = 'chat' | 'generate';

/**
 * Checks a complete Ollama stream: every line matches its schema, exactly one terminal line
 * (a `done:true` line or an `{"error"}` line) and it is the last one.
 */
export function checkStream(lines: any[], endpoint: Endpoint): void {
  expect(lines.length).toBeGreaterThan(0);
  const schema = endpoint === 'chat' ? OllamaChatResponse : OllamaGenerateResponse;
  lines.forEach((line, index) => {
    const last = index === lines.length - 1;
    if ('error' in line) {
      OllamaErrorResponse.parse(line);
      expect(last, 'an error line ends the stream').toBe(true);
      return;
    }
    schema.parse(line);
    expect(line.done, `only the last line is done (line ${index})`).toBe(last);
  });
}

/** The stream checked, then reduced to what must not depend on timing or network reads. */
export function streamContent(text: string, endpoint: Endpoint): any[] {
  const lines = ndjson(text);
  checkStream(lines, endpoint);
  return normalize(lines, endpoint);
}

const DURATIONS = ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'];

/**
 * Removes `created_at` and the durations, and merges consecutive pure-text (or pure-thinking)
 * lines: how many lines a piece of text is spread over depends on how the upstream's bytes
 * were cut, what they say does not.
 */
export function normalize(lines: any[], endpoint: Endpoint): any[] {
  const result: any[] = [];
  for (const original of lines) {
    const line = structuredClone(original);
    delete line.created_at;
    for (const key of DURATIONS) delete line[key];
    const kind = deltaKind(line, endpoint);
    const previous = result.at(-1);
    if (kind !== undefined && previous !== undefined && deltaKind(previous, endpoint) === kind) {
      appendDelta(previous, line, endpoint, kind);
      continue;
    }
    result.push(line);
  }
  return result;
}

function deltaKind(line: any, endpoint: Endpoint): 'text' | 'thinking' | undefined {
  if (line.done !== false) return undefined;
  const holder = endpoint === 'chat' ? line.message : line;
  const text = endpoint === 'chat' ? holder.content : holder.response;
  if (holder.tool_calls !== undefined) return undefined;
  if (holder.thinking !== undefined && text === '') return 'thinking';
  if (holder.thinking === undefined && text !== '') return 'text';
  return undefined;
}

function appendDelta(target: any, line: any, endpoint: Endpoint, kind: 'text' | 'thinking'): void {
  const to = endpoint === 'chat' ? target.message : target;
  const from = endpoint === 'chat' ? line.message : line;
  if (kind === 'thinking') to.thinking += from.thinking;
  else if (endpoint === 'chat') to.content += from.content;
  else to.response += from.response;
}

/** No line carries both text and thinking. */
export function expectNoMixedLines(lines: any[], endpoint: Endpoint): void {
  for (const line of lines) {
    const holder = endpoint === 'chat' ? line.message : line;
    if (holder === undefined) continue;
    const text = endpoint === 'chat' ? holder.content : holder.response;
    if (holder.thinking !== undefined) expect(text, 'a thinking line has empty content').toBe('');
  }
}

/** Reads an NDJSON body line by line, as the bytes arrive. */
export async function* ndjsonLines(body: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<any> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line !== '') yield JSON.parse(line);
    }
  }
  pending += decoder.decode();
  if (pending.trim() !== '') yield JSON.parse(pending);
}

/** An error body: JSON content type, `{"error": "<message>"}` and nothing else, no stack trace. */
export function expectErrorBody(result: HttpResult, status: number): string {
  expect(result.status, result.text).toBe(status);
  expect(result.headers['content-type']).toMatch(/^application\/json/);
  const body = OllamaErrorResponse.parse(JSON.parse(result.text));
  expectNoStackTrace(body.error);
  return body.error;
}

export function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\.(ts|js):\d+/);
}

/** Resolves true if `promise` settles within `ms`. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function waitFor(condition: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
