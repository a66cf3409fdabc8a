/**
 * A streamed upstream answer read straight from undici's dispatcher, with no Readable in
 * between: the bytes undici parses out of one socket read are handed over together, as one
 * array, when the consumer pulls. Backpressure is the consumer's pace: past HIGH_WATER_BYTES
 * of unread bytes the socket is paused, and reading resumes it.
 *
 * `release(completed)` ends the consumer's interest. After the answer's last event
 * (completed) whatever the upstream still sends (the `[DONE]` frame's tail, the chunked
 * terminator) is read and dropped, so the connection goes back to the pool; a consumer that
 * stops early (the client hung up) aborts the request, which tells the upstream to stop.
 */
import type { Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { fromTransportError, GatewayError } from '../errors.js';
import { claimRequestSocket } from './upstream-sockets.js';

/** Unread bytes past which the upstream socket is paused. */
const HIGH_WATER_BYTES = 64 * 1024;
/** After the last event, at most this much more is read before the connection is given up. */
const DRAIN_LIMIT_BYTES = 64 * 1024;
/** Largest error body read to explain a non-2xx status. */
const ERROR_BODY_LIMIT_BYTES = 64 * 1024;

/** Shared reasons: a stopped request needs no stack trace of its own (see client-abort.ts). */
const ABANDONED = new GatewayError('CLIENT_CLOSED', 'the answer was abandoned');
const WENT_ON = new GatewayError('CLIENT_CLOSED', 'the answer went on after its end');
const CLIENT_GONE = new GatewayError('CLIENT_CLOSED', 'the client closed the connection');

type Waiter = { resolve: (result: IteratorResult<Buffer[]>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<Buffer[]> = { done: true, value: undefined };

export class UpstreamBody implements AsyncIterableIterator<Buffer[]> {
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: Waiter | undefined;
  private deliveryScheduled = false;
  private released = false;
  private drainedBytes = 0;

  /** `abandon` stops the request (by default through the controller; see openUpstreamStream). */
  constructor(
    private readonly controller: Dispatcher.DispatchController,
    private readonly abandon: (reason: Error) => void = (reason) => controller.abort(reason),
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The bytes received since the last pull (at least one chunk), or done at the end. */
  next(): Promise<IteratorResult<Buffer[]>> {
    if (this.released) return Promise.resolve(DONE);
    if (this.queued.length > 0) return Promise.resolve(this.take());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** A for-await that stops early ends up here: the answer was abandoned. */
  return(): Promise<IteratorResult<Buffer[]>> {
    this.release(false);
    return Promise.resolve(DONE);
  }

  /** See the module comment. Idempotent. */
  release(completed: boolean): void {
    if (this.released) return;
    this.released = true;
    this.queued = [];
    this.queuedBytes = 0;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
    if (this.ended || this.failure !== undefined) return;
    if (completed) {
      if (this.controller.paused) this.controller.resume();
    } else {
      this.abandon(ABANDONED);
    }
  }

  /** From the dispatch handler: a chunk of the body. */
  push(chunk: Buffer): void {
    if (this.released) {
      this.drainedBytes += chunk.length;
      if (this.drainedBytes > DRAIN_LIMIT_BYTES && !this.ended) this.abandon(WENT_ON);
      return;
    }
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > HIGH_WATER_BYTES && !this.controller.paused) this.controller.pause();
    // Everything undici parses out of one socket read arrives before this microtask runs.
    if (this.waiter !== undefined && !this.deliveryScheduled) {
      this.deliveryScheduled = true;
      queueMicrotask(() => this.deliver());
    }
  }

  /** From the dispatch handler: the body ended normally. */
  end(): void {
    this.ended = true;
    if (!this.deliveryScheduled) this.deliver();
  }

  /** From the dispatch handler: the body broke off (transport error, timeout, abort). */
  fail(error: Error): void {
    if (this.ended || this.released) return;
    this.failure = error;
    if (!this.deliveryScheduled) this.deliver();
  }

  private deliver(): void {
    this.deliveryScheduled = false;
    const waiter = this.waiter;
    if (waiter === undefined) return;
    if (this.queued.length > 0) {
      this.waiter = undefined;
      waiter.resolve(this.take());
    } else if (this.failure !== undefined) {
      this.waiter = undefined;
      waiter.reject(this.failure);
    } else if (this.ended) {
      this.waiter = undefined;
      waiter.resolve(DONE);
    }
  }

  private take(): IteratorResult<Buffer[]> {
    const chunks = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    if (this.controller.paused && !this.released) this.controller.resume();
    return { done: false, value: chunks };
  }
}

export interface StreamRequest {
  /** Names the upstream in transport errors. */
  upstreamName: string;
  /** The error for a non-2xx answer, from its status, body text and Retry-After. */
  statusError: (status: number, body: string, retryAfter: string | undefined) => GatewayError;
  origin: string;
  path: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/**
 * Sends a request and resolves with its body once a 2xx status arrives; any other status
 * rejects with the upstream's error (its body read, up to a limit), a transport failure
 * with the mapped GatewayError. The signal aborts the request at any point.
 */
export function openUpstreamStream(dispatcher: Dispatcher, request: StreamRequest): Promise<UpstreamBody> {
  return new Promise((resolve, reject) => {
    const { signal, upstreamName } = request;
    let body: UpstreamBody | undefined;
    let errorStatus = 0;
    let errorRetryAfter: string | undefined;
    let errorChunks: Buffer[] = [];
    let errorBytes = 0;
    let settled = false;
    let controllerRef: Dispatcher.DispatchController | undefined;
    let socket: Socket | undefined;
    // Closing the request's own socket fails the request in undici; its abort would open a
    // new connection first (see upstream-sockets.ts). Without a socket (not written yet), abort.
    const abandon = (reason: Error): void => {
      if (socket !== undefined && !socket.destroyed) socket.destroy(reason);
      else controllerRef?.abort(reason);
    };
    const onAbort = (): void => abandon(signal?.reason instanceof Error ? signal.reason : CLIENT_GONE);
    const settle = (): void => {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        controllerRef = controller;
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        claimRequestSocket((claimed) => {
          socket = claimed;
        });
      },
      onResponseStart(controller, statusCode, headers) {
        if (statusCode < 200) return;
        if (statusCode < 300) {
          body = new UpstreamBody(controller, abandon);
          resolve(body);
          return;
        }
        errorStatus = statusCode;
        const retryAfter = headers['retry-after'];
        if (typeof retryAfter === 'string') errorRetryAfter = retryAfter;
      },
      onResponseData(controller, chunk) {
        if (body !== undefined) {
          body.push(chunk);
        } else if (errorBytes < ERROR_BODY_LIMIT_BYTES) {
          errorChunks.push(chunk);
          errorBytes += chunk.length;
        }
      },
      onResponseEnd() {
        settle();
        if (body !== undefined) {
          body.end();
          return;
        }
        const text = Buffer.concat(errorChunks).toString('utf8');
        errorChunks = [];
        reject(request.statusError(errorStatus, text, errorRetryAfter));
      },
      onResponseError(_controller, error) {
        const wasSettled = settled;
        settle();
        if (body !== undefined) body.fail(error);
        else if (!wasSettled) reject(fromTransportError(upstreamName, error));
      },
    };
    try {
      dispatcher.dispatch(
        { origin: request.origin, path: request.path, method: request.method, headers: request.headers, body: request.body ?? null },
        handler,
      );
    } catch (error) {
      // Arguments undici refuses (a header value with a line break, say) fail like the request.
      settle();
      reject(fromTransportError(upstreamName, error));
    }
  });
}
