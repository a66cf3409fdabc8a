/**
 * One error type with stable codes, and one mapper per wire dialect.
 * Everything that can go wrong between a client and an upstream ends up here.
 */
import { redactSecrets } from './core/secrets.js';

export const errorCodes = {
  BAD_REQUEST: 400,
  /** No client key, or an unknown, expired or revoked one. */
  UNAUTHORIZED: 401,
  /** The key may not use this model, or the request's Origin/Host is not allowed. */
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  /** The key's spending budget for the period is spent (`--budget-usd`, `keys create --budget-usd`). */
  BUDGET_EXHAUSTED: 402,
  /** The shared budget store (Redis) has been unreachable longer than the grace period: spend cannot be checked. */
  BUDGET_UNAVAILABLE: 503,
  PAYLOAD_TOO_LARGE: 413,
  MODEL_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_IMPLEMENTED: 501,
  /** OpenRouter refused the gateway's own key: a gateway problem, never the client's credentials. */
  UPSTREAM_KEY_REFUSED: 502,
  /** The upstream answered with an error status; the status is passed through. */
  UPSTREAM_ERROR: 502,
  UPSTREAM_BAD_RESPONSE: 502,
  UPSTREAM_UNAVAILABLE: 502,
  UPSTREAM_TIMEOUT: 504,
  /** The model catalog has not been fetched yet. */
  CATALOG_UNAVAILABLE: 503,
  CLIENT_CLOSED: 499,
  /** The gateway is stopping: an answer still open when the grace period ended. */
  SHUTTING_DOWN: 503,
  CONFIG_INVALID: 500,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface GatewayErrorOptions {
  statusCode?: number;
  cause?: unknown;
  /** Seconds, from the upstream's Retry-After. */
  retryAfter?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryAfter: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.statusCode = options.statusCode ?? errorCodes[code];
    this.retryAfter = options.retryAfter;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

/*
 * Every message taken from an upstream's words passes through upstreamErrorMessage or
 * messageFromErrorValue (status bodies, 200-with-error bodies, in-band stream errors, the /v1
 * relay's error events), or is a transport error's detail: each is redacted there, before a
 * GatewayError carries it to a client or a log. Providers do echo keys ("Incorrect API key
 * provided: sk-…").
 */

/** Extracts a readable message from an upstream error body: OpenRouter, Ollama, plain text or empty. */
export function upstreamErrorMessage(body: string, fallback: string): string {
  const trimmed = body.trim();
  if (trimmed === '') return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    // Redacted before it is cut: a secret cut in two would no longer match.
    const redacted = redactSecrets(trimmed);
    return redacted.length > 500 ? `${redacted.slice(0, 500)}…` : redacted;
  }
  return messageFromErrorValue(parsed) ?? fallback;
}

/** Reads `{error: "..."}`, `{error: {message, metadata: {raw}}}` or `{message}`, secrets redacted. */
export function messageFromErrorValue(value: unknown): string | undefined {
  const message = readErrorValue(value);
  return message === undefined ? undefined : redactSecrets(message);
}

function readErrorValue(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const error = record.error ?? record;
  if (typeof error === 'string') return error;
  if (typeof error !== 'object' || error === null) return undefined;
  const errorRecord = error as Record<string, unknown>;
  const message = typeof errorRecord.message === 'string' ? errorRecord.message : undefined;
  const metadata = errorRecord.metadata as Record<string, unknown> | undefined;
  const raw = metadata?.raw;
  const rawText = typeof raw === 'string' ? raw : raw === undefined || raw === null ? undefined : JSON.stringify(raw);
  if (message && rawText && message !== rawText) return `${message}: ${rawText}`;
  return message ?? rawText;
}

/** Maps an upstream's numeric `error.code` (or an HTTP status) to the status we answer with. */
export function statusFromUpstreamCode(code: unknown, fallback: number): number {
  const numeric = typeof code === 'number' ? code : typeof code === 'string' ? Number.parseInt(code, 10) : Number.NaN;
  return Number.isInteger(numeric) && numeric >= 400 && numeric <= 599 ? numeric : fallback;
}

/**
 * An upstream error status → GatewayError. The gateway's own credentials being refused
 * (401/403 from OpenRouter) must not look like the client's credentials being wrong.
 */
export function fromUpstreamStatus(
  upstreamName: string,
  status: number,
  body: string,
  retryAfter?: string,
): GatewayError {
  const message = upstreamErrorMessage(body, `${upstreamName} answered HTTP ${status}`);
  if (status === 401 || (status === 403 && /key|auth|credential|user not found/i.test(message))) {
    return new GatewayError(
      'UPSTREAM_KEY_REFUSED',
      `${upstreamName} refused the gateway's API key (HTTP ${status}: ${message}); check the key ollama-bridge was started with`,
    );
  }
  const statusCode = status >= 400 && status <= 599 ? status : 502;
  return new GatewayError('UPSTREAM_ERROR', message, { statusCode, retryAfter });
}

/** Maps undici's transport errors (stable `code`s) to gateway errors. */
export function fromTransportError(upstreamName: string, error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  const code = (error as { code?: string } | null)?.code;
  const detail = errorDetail(error);
  switch (code) {
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      return new GatewayError('CLIENT_CLOSED', 'the client closed the connection', { cause: error });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new GatewayError('UPSTREAM_TIMEOUT', `${upstreamName} did not answer in time (headers timeout)`, { cause: error });
    case 'UND_ERR_BODY_TIMEOUT':
      return new GatewayError('UPSTREAM_TIMEOUT', `${upstreamName} went silent mid-answer (body timeout)`, { cause: error });
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new GatewayError('UPSTREAM_UNAVAILABLE', `cannot reach ${upstreamName}: connect timeout`, { cause: error });
    default:
      if ((error as { name?: string } | null)?.name === 'AbortError') {
        return new GatewayError('CLIENT_CLOSED', 'the client closed the connection', { cause: error });
      }
      return new GatewayError('UPSTREAM_UNAVAILABLE', `cannot reach ${upstreamName}: ${detail}`, { cause: error });
  }
}

/** An upstream stream line longer than the line splitter's limit. */
export class LineTooLongError extends Error {
  constructor(limit: number) {
    super(`an upstream line exceeded ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

/**
 * A failure while reading an answer whose headers had arrived: the upstream was reached, so
 * "cannot reach" would mislead; say the answer broke off. A line longer than the splitter's
 * limit is a bad answer, not a transport failure.
 */
export function fromMidStreamError(upstreamName: string, error: unknown): GatewayError {
  if (error instanceof LineTooLongError) {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstreamName} sent a stream line that is too long (${error.message})`, { cause: error });
  }
  const mapped = fromTransportError(upstreamName, error);
  if (mapped.code !== 'UPSTREAM_UNAVAILABLE') return mapped;
  const detail = errorDetail(error);
  return new GatewayError('UPSTREAM_UNAVAILABLE', `${upstreamName} broke off the answer midway: ${detail}`, { cause: error });
}

/** A transport error's own message (which may quote a URL or what the peer said), redacted. */
function errorDetail(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

/** An error the upstream reported inside its stream (`{"error": …}`), with the status its code names. */
export function fromStreamErrorValue(upstreamName: string, error: unknown, defaultStatus: number): GatewayError {
  const message = messageFromErrorValue({ error }) ?? `${upstreamName} reported an error mid-stream`;
  const code = (error as { code?: unknown } | null)?.code;
  return new GatewayError('UPSTREAM_ERROR', message, { statusCode: statusFromUpstreamCode(code, defaultStatus) });
}

/** Ollama's dialect: `{"error": "..."}`. */
export function toOllamaErrorBody(error: GatewayError): { error: string } {
  return { error: error.message };
}

/** OpenAI's dialect: `{"error": {"message", "type", "param", "code"}}`, typed by status as Ollama does. */
export function toOpenAiErrorBody(error: GatewayError): {
  error: { message: string; type: string; param: null; code: string | null };
} {
  return {
    error: {
      message: error.message,
      type: openAiErrorType(error.statusCode),
      param: null,
      code: error.code === 'MODEL_NOT_FOUND' ? 'model_not_found' : error.code.toLowerCase(),
    },
  };
}

/** Anthropic's dialect: `{"type": "error", "error": {"type", "message"}}`, typed by status as Anthropic types them. */
export function toAnthropicErrorBody(error: GatewayError): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(error.statusCode), message: error.message } };
}

function anthropicErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 504) return 'timeout_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'api_error';
}

function openAiErrorType(status: number): string {
  if (status === 400 || status === 413 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  // OpenAI's type for spent credit or quota (an exhausted budget here, OpenRouter's 402 passed through).
  if (status === 402) return 'insufficient_quota';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'api_error';
}
