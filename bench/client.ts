/**
 * The load generator (runs in the parent): undici `request()` on one Agent with enough
 * connections for the largest phase. Each streamed answer is timed from just before the
 * request to its first body byte and to its end, and checked for a proper ending.
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

export type StreamKind = 'sse' | 'ndjson';

/** One way to ask for a streamed answer: a URL, a body and the framing that comes back. */
export interface StreamTarget {
  name: string;
  url: string;
  body: string;
  kind: StreamKind;
}

export interface StreamResult {
  status: number;
  /** ms from request start to the first body byte (NaN if none). */
  firstByteMs: number;
  /** ms from request start to the first chunk carrying answer text (NaN if none). */
  firstTokenMs: number;
  /** ms from request start to the end of the body. */
  endMs: number;
  /** Longest gap between two body chunks, ms. */
  maxGapMs: number;
  bytes: number;
  /** Ended as its dialect ends a finished answer (`data: [DONE]` / a `"done":true` line), with no error. */
  complete: boolean;
  error?: string;
}

export function createAgent(connections: number): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

let sharedAgent: Agent | undefined;
export function agent(): Agent {
  sharedAgent ??= createAgent(1_100);
  return sharedAgent;
}

export async function closeAgent(): Promise<void> {
  await sharedAgent?.close();
  sharedAgent = undefined;
}

function endsProperly(tail: string, kind: StreamKind): boolean {
  const trimmed = tail.trimEnd();
  if (kind === 'sse') return trimmed.endsWith('data: [DONE]') && !/\ndata: \{"error"/.test(tail);
  const lastLine = trimmed.slice(trimmed.lastIndexOf('\n') + 1);
  return lastLine.includes('"done":true') && !lastLine.startsWith('{"error"');
}

/** Sends one streamed request and reads the whole answer. Never throws. */
const CONTENT_KEY = Buffer.from('"content":"');

/**
 * Whether a chunk carries answer text: a non-empty `"content":"…"` (OpenAI SSE deltas and
 * Ollama NDJSON messages alike). Keep-alive comments and the empty role chunk do not count.
 */
function carriesText(chunk: Buffer): boolean {
  for (let at = chunk.indexOf(CONTENT_KEY); at !== -1; at = chunk.indexOf(CONTENT_KEY, at + 1)) {
    const next = chunk[at + CONTENT_KEY.length];
    if (next !== undefined && next !== 0x22) return true;
  }
  return false;
}

export async function timedStream(target: StreamTarget, dispatcher: Agent = agent()): Promise<StreamResult> {
  const start = performance.now();
  let status = 0;
  try {
    const response = await request(target.url, {
      method: 'POST',
      body: target.body,
      headers: { 'content-type': 'application/json' },
      dispatcher,
      signal: AbortSignal.timeout(120_000),
    });
    status = response.statusCode;
    return await new Promise<StreamResult>((resolveResult) => {
      let first = Number.NaN;
      let firstToken = Number.NaN;
      let last = start;
      let maxGap = 0;
      let bytes = 0;
      let tail: Buffer[] = [];
      let tailBytes = 0;
      response.body.on('data', (chunk: Buffer) => {
        const now = performance.now();
        if (Number.isNaN(first)) first = now - start;
        else if (now - last > maxGap) maxGap = now - last;
        if (Number.isNaN(firstToken) && carriesText(chunk)) firstToken = now - start;
        last = now;
        bytes += chunk.length;
        // Keep the last ~1 KB: enough for the final line or [DONE].
        tail.push(chunk);
        tailBytes += chunk.length;
        while (tail.length > 1 && tailBytes - tail[0]!.length >= 1_024) tailBytes -= tail.shift()!.length;
      });
      response.body.on('end', () => {
        const text = Buffer.concat(tail).toString('utf8');
        tail = [];
        resolveResult({
          status,
          firstByteMs: first,
          firstTokenMs: firstToken,
          endMs: performance.now() - start,
          maxGapMs: maxGap,
          bytes,
          complete: status === 200 && endsProperly(text, target.kind),
          ...(status === 200 ? {} : { error: `HTTP ${status}: ${text.slice(0, 200)}` }),
        });
      });
      response.body.on('error', (error: Error) => {
        resolveResult({ status, firstByteMs: first, firstTokenMs: firstToken, endMs: performance.now() - start, maxGapMs: maxGap, bytes, complete: false, error: error.message });
      });
    });
  } catch (error) {
    return {
      status,
      firstByteMs: Number.NaN,
      firstTokenMs: Number.NaN,
      endMs: performance.now() - start,
      maxGapMs: 0,
      bytes: 0,
      complete: false,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** GETs a URL and reads the body; returns the latency in ms and the body size. */
export async function timedGet(url: string, dispatcher: Agent = agent()): Promise<{ ms: number; bytes: number; ok: boolean }> {
  const start = performance.now();
  try {
    const response = await request(url, { dispatcher, signal: AbortSignal.timeout(60_000) });
    let bytes = 0;
    for await (const chunk of response.body) bytes += (chunk as Buffer).length;
    return { ms: performance.now() - start, bytes, ok: response.statusCode === 200 };
  } catch {
    return { ms: performance.now() - start, bytes: 0, ok: false };
  }
}

/** Runs `total` tasks with at most `concurrency` in flight; results in task order. */
export async function runPool<T>(total: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(total);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

export function chatBody(model: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
}

export interface FakeStats {
  open: number;
  peak: number;
  connections: number;
}

/** A fake's counters (GET /__bench/stats); `reset` restarts its peak of open answers. */
export async function fakeStats(url: string, reset = false): Promise<FakeStats> {
  try {
    const response = await request(`${url}/__bench/stats${reset ? '?reset' : ''}`, { dispatcher: agent() });
    return (await response.body.json()) as FakeStats;
  } catch {
    return { open: Number.NaN, peak: Number.NaN, connections: Number.NaN };
  }
}
