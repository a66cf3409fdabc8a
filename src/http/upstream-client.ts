/**
 * HTTP to one upstream, on its own undici Agent (keep-alive pool, explicit timeouts): the
 * one client every adapter uses. What an upstream's errors look like is the adapter's
 * knowledge, given as `statusError` and `answerError`.
 * Every response body is consumed, dumped or destroyed, so no socket leaks from the pool.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { RawTimeouts } from '../core/backend-adapter.js';
import { GatewayError, fromTransportError } from '../errors.js';
import { MAX_JSON_BYTES, readBodyText } from './read-body.js';
import { openUpstreamStream, type UpstreamBody } from './upstream-body.js';
import { trackingConnector } from './upstream-sockets.js';

export interface UpstreamClientOptions {
  name: string;
  /** The upstream's base URL; a path prefix is kept. */
  baseUrl: string;
  /** Sent with every request but `forward`'s. */
  headers: Record<string, string>;
  /** Time to connect. */
  connectTimeoutMs: number;
  /** Time from request to response headers (OpenRouter's keep-alive comments arrive early). */
  headersTimeoutMs: number;
  /** Longest silence between two body chunks; keep-alive comments reset it. 0 disables. */
  bodyTimeoutMs: number;
  /** Largest non-stream response read into memory. */
  maxJsonBytes?: number;
  /** The error for a non-2xx status, from the status, the body's text and Retry-After. */
  statusError: (status: number, body: string, retryAfter: string | undefined) => GatewayError;
  /** The error a 2xx JSON answer carries (`parsed` is an object, `text` its JSON); undefined when none. */
  answerError: (parsed: Record<string, unknown>, text: string) => GatewayError | undefined;
}

export class UpstreamClient {
  readonly name: string;
  private readonly agent: Agent;
  private readonly baseUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly maxJsonBytes: number;
  private readonly statusError: UpstreamClientOptions['statusError'];
  private readonly answerError: UpstreamClientOptions['answerError'];

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const base = new URL(this.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.headers = options.headers;
    this.maxJsonBytes = options.maxJsonBytes ?? MAX_JSON_BYTES;
    this.statusError = options.statusError;
    this.answerError = options.answerError;
    this.agent = new Agent({
      connect: trackingConnector({ timeout: options.connectTimeoutMs }),
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  /**
   * POSTs JSON and returns the body of a 2xx answer as it arrives, read straight from the
   * dispatcher (the hot path of every streamed chat); throws GatewayError otherwise.
   */
  openStream(path: string, payload: unknown, signal?: AbortSignal): Promise<UpstreamBody> {
    return openUpstreamStream(this.agent, {
      upstreamName: this.name,
      statusError: this.statusError,
      origin: this.origin,
      path: `${this.basePath}${path}`,
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** POSTs (or GETs, without payload) and parses a JSON answer. A 2xx answer that carries an error (`answerError`) is that error. */
  async json(method: 'GET' | 'POST', path: string, payload?: unknown, signal?: AbortSignal): Promise<unknown> {
    const response = await this.send(method, path, payload, signal);
    const text = await readBodyText(response.body, this.name, this.maxJsonBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.name} sent a response that is not JSON`, { cause: error });
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const error = this.answerError(parsed as Record<string, unknown>, text);
      if (error !== undefined) throw error;
    }
    return parsed;
  }

  /**
   * Sends a request as it is (the caller's headers only) and returns the answer whatever its
   * status; the caller must consume or destroy its body. Only transport failures throw.
   * `path` includes the query string.
   */
  async forward(
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body: Dispatcher.RequestOptions['body'],
    signal?: AbortSignal,
    timeouts: RawTimeouts = {},
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await request(`${this.baseUrl}${path}`, {
        method: method.toUpperCase(),
        dispatcher: this.agent,
        signal,
        headers,
        body,
        ...(timeouts.headersTimeoutMs === undefined ? {} : { headersTimeout: timeouts.headersTimeoutMs }),
        ...(timeouts.bodyTimeoutMs === undefined ? {} : { bodyTimeout: timeouts.bodyTimeoutMs }),
      });
    } catch (error) {
      throw fromTransportError(this.name, error);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send(method: 'GET' | 'POST', path: string, payload: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const headers = payload === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' };
    const response = await this.forward(method, path, headers, payload === undefined ? undefined : JSON.stringify(payload), signal);
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const body = await readBodyText(response.body, this.name, this.maxJsonBytes).catch(() => '');
    const retryAfter = response.headers['retry-after'];
    throw this.statusError(response.statusCode, body, typeof retryAfter === 'string' ? retryAfter : undefined);
  }
}
