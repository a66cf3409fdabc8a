/**
 * UpstreamBody and openUpstreamStream (src/http/upstream-body.ts) against a real node:http
 * server: batching per read, backpressure, connection reuse after the answer's end, abort on
 * abandon, errors before and after the first byte.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type Dispatcher } from 'undici';
import { openUpstreamStream, UpstreamBody, type StreamRequest } from '../../src/http/upstream-body.js';
import { GatewayError } from '../../src/errors.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server | undefined;
let agent: Agent | undefined;
let connections = 0;

async function serve(handler: Handler): Promise<string> {
  connections = 0;
  server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  agent = new Agent({ keepAliveTimeout: 10_000 });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await agent?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  agent = undefined;
});

function streamRequest(origin: string, extra: Partial<StreamRequest> = {}): StreamRequest {
  return {
    upstreamName: 'Upstream',
    statusError: (status, body, retryAfter) => new GatewayError('UPSTREAM_ERROR', `HTTP ${status}: ${body} (retry ${retryAfter})`, { statusCode: status }),
    origin,
    path: '/stream',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    ...extra,
  };
}

async function readAll(body: UpstreamBody): Promise<string> {
  let text = '';
  for await (const chunks of body) for (const chunk of chunks) text += chunk.toString('utf8');
  return text;
}

describe('openUpstreamStream', () => {
  it('hands over every chunk of one read together, and ends', async () => {
    const origin = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      // Three HTTP chunks in one socket write: undici parses three body chunks from one read.
      response.socket!.cork();
      response.write('one ');
      response.write('two ');
      response.write('three');
      process.nextTick(() => response.socket!.uncork());
      setTimeout(() => response.end(' four'), 20);
    });
    const body = await openUpstreamStream(agent!, streamRequest(origin));
    const first = await body.next();
    expect(first.done).toBe(false);
    expect(Buffer.concat(first.value as Buffer[]).toString()).toBe('one two three');
    expect((first.value as Buffer[]).length).toBe(3);
    expect(await readAll(body)).toBe(' four');
    expect((await body.next()).done).toBe(true);
  });

  it('rejects a non-2xx answer with the mapper\'s error, built from the body and Retry-After', async () => {
    const origin = await serve((_request, response) => {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      response.end('{"error":"slow down"}');
    });
    const error = await openUpstreamStream(agent!, streamRequest(origin)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).statusCode).toBe(429);
    expect((error as GatewayError).message).toBe('HTTP 429: {"error":"slow down"} (retry 7)');
  });

  it('rejects an unreachable upstream with a transport error naming it', async () => {
    const origin = await serve(() => undefined);
    const port = (server!.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const error = await openUpstreamStream(agent!, streamRequest(`http://127.0.0.1:${port}`)).catch((caught: unknown) => caught);
    expect(origin).toContain(String(port));
    expect((error as GatewayError).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((error as GatewayError).message).toContain('cannot reach Upstream');
  });

  it('rejects a request undici refuses to send with a GatewayError, not a crash', async () => {
    const origin = await serve((_request, response) => response.end());
    const error = await openUpstreamStream(agent!, streamRequest(origin, { headers: { authorization: 'Bearer key\nwith a line break' } })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).message).toContain('Upstream');
  });

  it('fails the body when the upstream breaks off mid-answer', async () => {
    const origin = await serve((_request, response) => {
      response.writeHead(200);
      response.write('partial');
      setTimeout(() => response.socket!.destroy(), 20);
    });
    const body = await openUpstreamStream(agent!, streamRequest(origin));
    const first = await body.next();
    expect(Buffer.concat(first.value as Buffer[]).toString()).toBe('partial');
    await expect(body.next()).rejects.toThrow();
  });

  it('aborts the upstream request when the answer is abandoned', async () => {
    let upstreamClosedEarly: Promise<boolean> = Promise.resolve(false);
    const origin = await serve((_request, response) => {
      response.writeHead(200);
      const timer = setInterval(() => response.write('tick\n'), 5);
      upstreamClosedEarly = new Promise((resolve) => response.on('close', () => {
        clearInterval(timer);
        resolve(!response.writableFinished);
      }));
    });
    const body = await openUpstreamStream(agent!, streamRequest(origin));
    await body.next();
    body.release(false);
    expect(await upstreamClosedEarly).toBe(true);
    expect((await body.next()).done).toBe(true);
  });

  it('aborts through the signal, before and after the answer starts', async () => {
    let closed = 0;
    const origin = await serve((_request, response) => {
      response.on('close', () => closed++);
      response.writeHead(200);
      response.write('x');
    });
    const early = new AbortController();
    early.abort();
    const refused = await openUpstreamStream(agent!, streamRequest(origin, { signal: early.signal })).catch((caught: unknown) => caught);
    expect((refused as GatewayError).code).toBe('CLIENT_CLOSED');

    const late = new AbortController();
    const body = await openUpstreamStream(agent!, streamRequest(origin, { signal: late.signal }));
    await body.next();
    late.abort();
    await expect(body.next()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBeGreaterThanOrEqual(1);
  });

  it('reads past the last event so the connection goes back to the pool', async () => {
    const origin = await serve((_request, response) => {
      response.writeHead(200);
      response.write('data: last\n\n');
      // What is left after the final event: read and dropped, not a reason to close.
      setTimeout(() => response.end('data: [DONE]\n\n'), 20);
    });
    for (let answer = 0; answer < 3; answer++) {
      const body = await openUpstreamStream(agent!, streamRequest(origin));
      await body.next();
      body.release(true);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    expect(connections).toBe(1);
  });
});

describe('UpstreamBody backpressure', () => {
  function fakeController(): Dispatcher.DispatchController & { pauses: number; resumes: number } {
    let paused = false;
    return {
      pauses: 0,
      resumes: 0,
      get aborted() {
        return false;
      },
      get paused() {
        return paused;
      },
      get reason() {
        return null;
      },
      abort() {},
      pause() {
        paused = true;
        this.pauses++;
      },
      resume() {
        paused = false;
        this.resumes++;
      },
    };
  }

  it('pauses the socket past 64 KB unread and resumes it when the consumer pulls', async () => {
    const controller = fakeController();
    const body = new UpstreamBody(controller);
    body.push(Buffer.alloc(40 * 1024));
    expect(controller.paused).toBe(false);
    body.push(Buffer.alloc(40 * 1024));
    expect(controller.paused).toBe(true);
    const read = await body.next();
    expect((read.value as Buffer[]).reduce((sum, chunk) => sum + chunk.length, 0)).toBe(80 * 1024);
    expect(controller.paused).toBe(false);
    expect(controller.resumes).toBe(1);
  });

  it('after the last event, keeps reading and dropping what comes, but not without end', async () => {
    const controller = fakeController();
    let aborted: Error | undefined;
    controller.abort = (reason: Error) => {
      aborted = reason;
    };
    const body = new UpstreamBody(controller);
    body.push(Buffer.alloc(100 * 1024));
    expect(controller.paused).toBe(true);
    body.release(true);
    expect(controller.paused).toBe(false);
    body.push(Buffer.alloc(32 * 1024));
    expect(aborted).toBeUndefined();
    body.push(Buffer.alloc(40 * 1024));
    expect(aborted).toBeInstanceOf(GatewayError);
  });
});
