/**
 * OpenRouter's error shapes, read in one place for every answer it sends with a 2xx status:
 * the JSON answers, the stream events the adapter decodes, and those the /v1 relay forwards.
 * Pure.
 */
import { fromUpstreamStatus, messageFromErrorValue, statusFromUpstreamCode, type GatewayError } from '../../errors.js';

export const OPENROUTER = 'OpenRouter';

type JsonObject = Record<string, unknown>;

/**
 * The error an answer or event stands for: `{"error": {code, message, metadata}}`, or a
 * choice that stopped with `finish_reason: "error"` or carries an `error`. The error's `code`
 * is the status (502 when it names none), and a 401 or a 403 about the key means the
 * gateway's own key was refused, as for an HTTP status.
 */
export function openRouterErrorIn(payload: JsonObject): GatewayError | undefined {
  if (payload.error !== undefined && payload.error !== null && payload.error !== false) {
    return fromErrorValue(payload.error, `${OPENROUTER} reported an error`);
  }
  const choice = Array.isArray(payload.choices) ? (payload.choices[0] as JsonObject | undefined) : undefined;
  if (choice !== undefined && choice !== null && (choice.finish_reason === 'error' || (choice.error !== undefined && choice.error !== null))) {
    return fromErrorValue(choice.error, `${OPENROUTER} stopped the answer with an error`);
  }
  return undefined;
}

/** An error value (`{code, message, metadata}`, or a message alone) → the GatewayError, with `fallback` when it says nothing. */
function fromErrorValue(error: unknown, fallback: string): GatewayError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const message = messageFromErrorValue({ error }) ?? fallback;
  return fromUpstreamStatus(OPENROUTER, statusFromUpstreamCode(code, 502), JSON.stringify({ error: { message } }));
}
