/**
 * Writes a pre-serialised answer: one Buffer per network write. Pace 0 writes as fast as the
 * socket takes them (waiting for 'drain' when `write` returns false); a pace of N ms waits N ms
 * between writes. `endDelayMs` holds the end of the response (the chunked terminator) back after
 * the last write, as a server that closes a little after its last event does. A client that
 * goes away stops the answer.
 */
import type { Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * Answers being written now, the most at once since the last reset, and TCP connections
 * accepted so far (GET /__bench/stats): a client that reuses its connections opens few.
 */
export const openStreams = { open: 0, peak: 0, connections: 0 };

export function countConnections(server: Server): void {
  server.on('connection', () => openStreams.connections++);
}

export function writePaced(res: ServerResponse, writes: readonly Buffer[], paceMs: number, endDelayMs = 0): void {
  let index = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  if (++openStreams.open > openStreams.peak) openStreams.peak = openStreams.open;
  res.on('close', () => {
    closed = true;
    openStreams.open--;
    if (timer !== undefined) clearTimeout(timer);
  });

  const next = (): void => {
    timer = undefined;
    while (!closed && index < writes.length) {
      const ok = res.write(writes[index++]!);
      if (index === writes.length) break;
      if (!ok) {
        res.once('drain', paceMs > 0 ? () => (timer = setTimeout(next, paceMs)) : next);
        return;
      }
      if (paceMs > 0) {
        timer = setTimeout(next, paceMs);
        return;
      }
    }
    if (!closed && index === writes.length) {
      if (endDelayMs > 0) timer = setTimeout(() => res.end(), endDelayMs);
      else res.end();
    }
  };
  next();
}

/**
 * When each tagged answer saw its client go away (`performance.timeOrigin + now()`, ms): the
 * abort phase tags each request and compares these with the moments it aborted them.
 */
const closedAt = new Map<string, number>();

/** Records when `res` closes before its end, under `tag`. */
export function recordEarlyClose(res: ServerResponse, tag: string): void {
  res.once('close', () => {
    if (!res.writableFinished) closedAt.set(tag, performance.timeOrigin + performance.now());
  });
}

/** The abort phase's tag in a chat body's first message (`abort-…`), or undefined. */
export function abortTag(body: { messages?: Array<{ content?: unknown }> }): string | undefined {
  const content = body.messages?.[0]?.content;
  return typeof content === 'string' && content.startsWith('abort-') ? content : undefined;
}

/** GET /__bench/closes[?reset]: `{tag: closedAtMs}` for every tagged answer closed early; `reset` forgets them. */
export function sendCloses(res: ServerResponse, path: string): void {
  const body = JSON.stringify(Object.fromEntries(closedAt));
  if (path.includes('reset')) closedAt.clear();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads a small request body as text. */
export function readBody(req: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** GET /__bench/stats[?reset]: the open-stream counters as JSON; `reset` restarts the peak. */
export function sendStats(res: ServerResponse, path: string): void {
  const body = JSON.stringify(openStreams);
  if (path.includes('reset')) openStreams.peak = openStreams.open;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
