/**
 * HTTP to one upstream, on its own undici Agent (keep-alive pool, explicit timeouts).
 * Every response body is consumed, dumped or destroyed, so no socket leaks from the pool.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { GatewayError, fromTransportError, fromUpstreamStatus } from '../errors.js';
import { MAX_JSON_BYTES, readBodyText } from './read-body.js';
import { openUpstreamStream, type UpstreamBody } from './upstream-body.js';
import { trackingConnector } from './upstream-sockets.js';

export interface UpstreamClientOptions {
  name: string;
  baseUrl: string;
  headers: Record<string, string>;
  /** Time to connect. */
  connectTimeoutMs: number;
  /** Time from request to response headers (OpenRouter's keep-alive comments arrive early). */
  headersTimeoutMs: number;
  /** Longest silence between two body chunks; keep-alive comments reset it. 0 disables. */
  bodyTimeoutMs: number;
  /** Largest non-stream response read into memory. */
  maxJsonBytes?: number;
}


export class UpstreamClient {
  readonly name: string;
  private readonly agent: Agent;
  private readonly baseUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly maxJsonBytes: number;

  constructor(options: UpstreamClientOptions) {
    this.name = options.name;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const base = new URL(this.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.headers = options.headers;
    this.maxJsonBytes = options.maxJsonBytes ?? MAX_JSON_BYTES;
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
      statusError: (status, body, retryAfter) => fromUpstreamStatus(this.name, status, body, retryAfter),
      origin: this.origin,
      path: `${this.basePath}${path}`,
      method: 'POST',
      headers: { ...this.headers, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      ...(signal === undefined ? {} : { signal }),
    });
  }


  /** POSTs (or GETs, without payload) and parses a JSON answer. A 200 carrying `error` is an error. */
  async json(method: 'GET' | 'POST', path: string, payload?: unknown, signal?: AbortSignal): Promise<unknown> {
    const response = await this.send(method, path, payload, signal);
    const text = await readBodyText(response.body, this.name, this.maxJsonBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.name} sent a response that is not JSON`, { cause: error });
    }
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed && parsed.error) {
      const code = (parsed.error as { code?: unknown }).code;
      const status = typeof code === 'number' && code >= 400 && code <= 599 ? code : 502;
      throw fromUpstreamStatus(this.name, status, text);
    }
    return parsed;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send(method: 'GET' | 'POST', path: string, payload: unknown, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.baseUrl}${path}`, {
        method,
        dispatcher: this.agent,
        signal,
        headers: payload === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    } catch (error) {
      throw fromTransportError(this.name, error);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const body = await readBodyText(response.body, this.name, this.maxJsonBytes).catch(() => '');
    const retryAfter = response.headers['retry-after'];
    throw fromUpstreamStatus(this.name, response.statusCode, body, typeof retryAfter === 'string' ? retryAfter : undefined);
  }

}
