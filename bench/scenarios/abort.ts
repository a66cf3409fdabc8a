/**
 * Many clients hanging up at once (default 500): every stream is opened (spread over
 * `rampMs`, on fresh connections) on a long, slow answer, and once each has received its
 * first bytes and `holdMs` more have passed, all are aborted in one loop. The fake upstream
 * records when it saw each request's connection close (`/__bench/closes`, tagged by the
 * request's first message), on the same clock (`performance.timeOrigin + now()`). Reported per
 * path: how many upstream requests closed, and the time from each client's abort to its
 * upstream request closing.
 */
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { request, type Agent } from 'undici';
import { createAgent, type StreamTarget } from '../client.js';
import { cpuSeconds } from '../process-stats.js';
import { summarize, type Summary } from '../stats.js';

export interface AbortTarget {
  target: StreamTarget;
  pid: number;
  upstreamUrl: string;
}

export interface AbortOptions {
  streams: number;
  rounds: number;
  /** The requests of a round are sent over this many ms. */
  rampMs?: number;
  /** Streaming time after the last stream's first bytes, before the aborts. */
  holdMs?: number;
  /** Longest wait for the upstream to see every close. */
  closeWaitMs?: number;
  settleMs?: number;
}

export interface AbortResult {
  name: string;
  streams: number;
  rounds: number;
  /** Upstream requests seen closed / aborted. */
  closed: number;
  total: number;
  /** ms from each client's abort to the upstream seeing its request close. */
  closeMs: Summary;
  /** p99 of each round. */
  roundP99Ms: number[];
  /** ms the client's abort loop took (all aborts of a round). */
  abortLoopMs: number[];
  /** Server CPU seconds from the first abort to the last close seen, per round. */
  cpuSeconds: number[];
  /** Streams that never started streaming (not aborted). */
  failedToStart: number;
  errors: string[];
}

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

interface OpenStream {
  tag: string;
  /** Closes the connection at once (the socket is destroyed in the call). */
  abort(): void;
  /** Resolves true at the first body bytes, false if the request failed before. */
  flowing: Promise<boolean>;
  error?: string;
}

/**
 * One streamed request on a connection of its own, through node:http: its `destroy()` closes
 * the socket within the call, so the abort's timestamp is the moment the connection closes.
 */
function openStream(target: StreamTarget, tag: string): OpenStream {
  const body = JSON.parse(target.body) as { messages: Array<{ role: string; content: string }> };
  body.messages = [{ role: 'user', content: tag }];
  const payload = JSON.stringify(body);
  const outgoing = httpRequest(target.url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } });
  let aborted = false;
  const stream: OpenStream = {
    tag,
    abort: () => {
      aborted = true;
      outgoing.destroy();
    },
    flowing: Promise.resolve(false),
  };
  stream.flowing = new Promise<boolean>((resolve) => {
    outgoing.on('error', (error) => {
      if (!aborted) stream.error ??= error.message;
      resolve(false);
    });
    outgoing.on('response', (response) => {
      response.on('error', () => undefined);
      if (response.statusCode !== 200) {
        stream.error = `HTTP ${response.statusCode}`;
        response.resume();
        return resolve(false);
      }
      response.once('data', () => resolve(true));
      response.on('data', () => undefined);
      response.on('end', () => resolve(false));
    });
  });
  outgoing.end(payload);
  return stream;
}

async function closesSeen(upstreamUrl: string, agent: Agent, reset = false): Promise<Record<string, number>> {
  const response = await request(`${upstreamUrl}/__bench/closes${reset ? '?reset' : ''}`, { dispatcher: agent });
  return (await response.body.json()) as Record<string, number>;
}

export async function runAbort(targets: readonly AbortTarget[], options: AbortOptions): Promise<AbortResult[]> {
  const rampMs = options.rampMs ?? 500;
  const samples = targets.map(() => ({ close: [] as number[], roundP99: [] as number[], loop: [] as number[], cpu: [] as number[], closed: 0, total: 0, failed: 0, errors: [] as string[] }));
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const { target, pid, upstreamUrl } = targets[index]!;
      const sample = samples[index]!;
      await sleep(options.settleMs ?? 1_000);
      const agent = createAgent(options.streams + 100);
      await closesSeen(upstreamUrl, agent, true);
      const perStep = Math.max(1, Math.ceil(options.streams / Math.max(1, rampMs / 10)));
      const streams: OpenStream[] = [];
      for (let stream = 0; stream < options.streams; stream++) {
        if (stream > 0 && stream % perStep === 0) await sleep(10);
        streams.push(openStream(target, `abort-${round}-${index}-${stream}`));
      }
      const flowing = await Promise.all(streams.map((stream) => stream.flowing));
      await sleep(options.holdMs ?? 500);

      const abortedAt = new Map<string, number>();
      const cpuBefore = cpuSeconds(pid);
      const loopStart = now();
      for (const [position, stream] of streams.entries()) {
        if (!flowing[position]) continue;
        abortedAt.set(stream.tag, now());
        stream.abort();
      }
      sample.loop.push(now() - loopStart);

      const deadline = now() + (options.closeWaitMs ?? 10_000);
      let closes: Record<string, number> = {};
      for (;;) {
        closes = await closesSeen(upstreamUrl, agent);
        if ([...abortedAt.keys()].every((tag) => closes[tag] !== undefined) || now() > deadline) break;
        await sleep(50);
      }
      sample.cpu.push(cpuSeconds(pid) - cpuBefore);
      const round_: number[] = [];
      for (const [tag, at] of abortedAt) {
        sample.total++;
        const closedAt = closes[tag];
        if (closedAt === undefined) continue;
        sample.closed++;
        round_.push(closedAt - at);
      }
      sample.close.push(...round_);
      sample.roundP99.push(summarize(round_).p99);
      sample.failed += flowing.filter((started) => !started).length;
      for (const stream of streams) if (stream.error !== undefined && sample.errors.length < 3) sample.errors.push(stream.error);
      await agent.close().catch(() => undefined);
    }
  }
  return targets.map(({ target }, index) => {
    const sample = samples[index]!;
    return {
      name: target.name,
      streams: options.streams,
      rounds: options.rounds,
      closed: sample.closed,
      total: sample.total,
      closeMs: summarize(sample.close),
      roundP99Ms: sample.roundP99,
      abortLoopMs: sample.loop,
      cpuSeconds: sample.cpu,
      failedToStart: sample.failed,
      errors: sample.errors,
    };
  });
}
