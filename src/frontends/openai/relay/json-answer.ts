/**
 * The non-stream /v1 relay: one JSON answer in OpenAI's chat dialect, forwarded as the
 * upstream sent it but for what must be translated. Pure.
 */
import { finishReasonFromOpenAi, originFromOpenAi, usageFromOpenAi } from '../../../core/openai-answer.js';
import { GatewayError } from '../../../errors.js';
import { ModelEcho } from './model-echo.js';
import { withReasoningContent } from './reasoning-content.js';
import type { RelayMeter } from './relay-meter.js';
import type { RelayedUpstream } from './sse-relay.js';

type JsonObject = Record<string, unknown>;

/**
 * A non-stream answer: leading keep-alive whitespace removed, a 200 that carries an error
 * (the upstream's `errorIn`) thrown as that error, reasoning mirrored into
 * `reasoning_content`, `model` made the client's name (`echoModel`). Otherwise the text is
 * returned as the upstream sent it. `meter` is told its usage, origin and finish reason.
 */
export function relayJson(upstream: RelayedUpstream, text: string, meter?: RelayMeter, echoModel?: string): string {
  const trimmed = text.trimStart();
  let payload: unknown;
  try {
    payload = JSON.parse(trimmed);
  } catch (error) {
    throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstream.upstream} sent a response that is not JSON`, { cause: error });
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstream.upstream} sent a response that is not a JSON object`);
  }
  const error = upstream.errorIn(payload as JsonObject);
  if (error !== undefined) throw error;
  if (meter !== undefined) meterJson(payload as JsonObject, meter);
  const model = (payload as JsonObject).model;
  let bytes: Buffer = Buffer.from(trimmed);
  if (echoModel !== undefined && typeof model === 'string' && model !== echoModel) {
    const echoed = new ModelEcho(echoModel).apply(bytes);
    // The same bytes: not compact JSON (no `"model":"`), so serialised again, keys in the same order.
    bytes = echoed !== bytes ? echoed : Buffer.from(JSON.stringify({ ...(payload as JsonObject), model: echoModel }));
  }
  return withReasoningContent(bytes, 0, bytes.length).toString('utf8');
}

/** What a non-stream answer tells the meter: its usage, who answered, how it finished; and that it goes out now. */
function meterJson(payload: JsonObject, meter: RelayMeter): void {
  const usage = payload.usage;
  if (typeof usage === 'object' && usage !== null) meter.report?.(usageFromOpenAi(usage as JsonObject));
  const origin = originFromOpenAi(payload);
  if (origin !== undefined) meter.answeredBy?.(origin);
  const choice = Array.isArray(payload.choices) ? (payload.choices[0] as JsonObject | undefined) : undefined;
  if (typeof choice?.finish_reason === 'string') {
    const reason = finishReasonFromOpenAi(choice.finish_reason, choice.native_finish_reason);
    if (reason !== 'error') meter.finished?.(reason);
  }
  meter.answerStarted?.();
}
