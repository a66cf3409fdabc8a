/**
 * The body the /v1 passthrough sends OpenRouter (forwardOpenAiChat). Pure. It is built from an allow-list, never
 * by spreading the client's body: OpenRouter acts on fields a key's model list and the models
 * filter know nothing about (`models` fallbacks billed as another model, paid `plugins` such
 * as web search, provider routing), so a field is forwarded only when it is known to change
 * nothing but how the one checked model answers.
 *
 * - `model` and every entry of `models` are the upstream ids the caller resolved and checked.
 * - Forwarded as sent: the OpenAI chat fields and OpenRouter's harmless ones (FORWARDED_FIELDS).
 * - `provider`: only the sub-fields that can narrow where the request may run, never widen it
 *   or steer it to a pricier endpoint: `data_collection` and `zdr` (the client's privacy
 *   terms), `require_parameters` (only endpoints that honour every parameter sent) and
 *   `max_price` (a price ceiling). Ordering and selection (`order`, `only`, `ignore`, `sort`,
 *   `quantizations`, `allow_fallbacks`, `preferred_*`) are the operator's call: dropped. The
 *   operator's own `provider` (models config) is sent as written, over the client's fields.
 * - Dropped: everything else (`plugins`, `route`, `web_search_options`, `service_tier`,
 *   `debug`, unknown fields). `droppedFields` names them for a debug log line.
 * - Consumed, not forwarded: Ollama's knobs (`think` becomes `reasoning_effort`).
 * - Only function tools: a server tool (`openrouter:web_search` …) is refused with a 400.
 */
import type { OpenAiChatForward } from '../../core/backend-adapter.js';
import { toReasoning } from '../../core/reasoning.js';
import { OPENAI_SAMPLING_FIELDS, samplingToWire } from '../../core/sampling-fields.js';
import type { ReasoningRequest } from '../../core/types.js';
import { GatewayError } from '../../errors.js';

type JsonObject = Record<string, unknown>;

const FORWARDED_FIELDS: ReadonlySet<string> = new Set([
  'messages', 'stream', 'stream_options',
  'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'top_a', 'seed',
  'frequency_penalty', 'presence_penalty', 'repetition_penalty', 'stop', 'logit_bias', 'logprobs', 'top_logprobs',
  'response_format', 'tools', 'tool_choice', 'parallel_tool_calls',
  'reasoning', 'reasoning_effort', 'include_reasoning', 'verbosity',
  'user', 'usage', 'transforms',
]);

const PROVIDER_FIELDS: ReadonlySet<string> = new Set(['data_collection', 'zdr', 'require_parameters', 'max_price']);

/** Read by the gateway itself: `model` and `models` are resolved, Ollama's knobs translated. */
const CONSUMED_FIELDS: ReadonlySet<string> = new Set(['model', 'models', 'think', 'keep_alive', 'num_ctx', 'options']);

/** At most this many dropped names are reported, each cut to this length (they come from the client). */
const MAX_REPORTED = 20;
const MAX_NAME_LENGTH = 64;

/**
 * The body sent upstream (see the module comment). Reasoning the client did not set comes
 * from Ollama's `think`, else from the model's configured defaults, as `reasoning_effort`
 * (`none` for off, `medium` for on); the efforts OpenRouter rejects (`max`, `ultra`) are
 * clamped to its strongest (`xhigh`). Sampling fields the client did not set come from the
 * model's configured defaults. An empty `tools: []` is not sent.
 */
export function toPassthroughBody(request: OpenAiChatForward): JsonObject {
  const { body: raw, model: upstreamModel, fallbackModels, defaults } = request;
  const body: JsonObject = { model: upstreamModel };
  if (fallbackModels !== undefined && fallbackModels.length > 0) body.models = [...fallbackModels];
  for (const field of Object.keys(raw)) {
    if (FORWARDED_FIELDS.has(field) && raw[field] !== undefined) body[field] = raw[field];
  }
  const provider = allowedProvider(raw.provider);
  // The operator's routing (models config) is sent as written; the client's narrowing fields fill in what it leaves unset.
  if (provider !== undefined || request.provider !== undefined) body.provider = { ...provider, ...request.provider };
  checkToolTypes(body.tools);
  // OpenRouter routes an empty tool list like a tool request; some clients always send one.
  if (Array.isArray(body.tools) && body.tools.length === 0) {
    delete body.tools;
    delete body.tool_choice;
  }
  const hasReasoning = isSet(raw.reasoning) || isSet(raw.reasoning_effort) || isSet(raw.include_reasoning);
  if (!hasReasoning) {
    const think = typeof raw.think === 'boolean' || typeof raw.think === 'string' ? raw.think : undefined;
    const reasoning = toReasoning({ think }) ?? defaults?.reasoning;
    if (reasoning !== undefined) body.reasoning_effort = effortOf(reasoning);
  }
  if (typeof body.reasoning_effort === 'string') body.reasoning_effort = clampEffort(body.reasoning_effort);
  const reasoning = body.reasoning;
  if (typeof reasoning === 'object' && reasoning !== null && typeof (reasoning as JsonObject).effort === 'string') {
    body.reasoning = { ...reasoning, effort: clampEffort((reasoning as JsonObject).effort as string) };
  }
  if (defaults !== undefined) {
    const { max_tokens: maxTokens, ...others } = samplingToWire(defaults.sampling, OPENAI_SAMPLING_FIELDS);
    for (const [field, value] of Object.entries(others)) if (!isSet(body[field])) body[field] = value;
    if (maxTokens !== undefined && !isSet(body.max_tokens) && !isSet(body.max_completion_tokens)) body.max_tokens = maxTokens;
  }
  return body;
}

/** The names (never the values) of the client's fields the passthrough does not forward. */
export function droppedFields(raw: JsonObject): string[] {
  const dropped: string[] = [];
  for (const field of Object.keys(raw)) {
    if (FORWARDED_FIELDS.has(field) || CONSUMED_FIELDS.has(field)) continue;
    if (field === 'provider' && isPlainObject(raw.provider)) {
      for (const sub of Object.keys(raw.provider)) if (!PROVIDER_FIELDS.has(sub)) dropped.push(`provider.${sub}`);
    } else {
      dropped.push(field);
    }
  }
  return dropped.slice(0, MAX_REPORTED).map((name) => (name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name));
}

/** `provider` with only the sub-fields that narrow routing; undefined when none is left. */
function allowedProvider(value: unknown): JsonObject | undefined {
  if (!isPlainObject(value)) return undefined;
  const kept: JsonObject = {};
  for (const field of PROVIDER_FIELDS) if (value[field] !== undefined) kept[field] = value[field];
  return Object.keys(kept).length === 0 ? undefined : kept;
}

/** OpenRouter's server tools (web search and the like) are paid features: function tools only. */
function checkToolTypes(tools: unknown): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: unknown, index) => {
    const type = isPlainObject(tool) ? tool.type : undefined;
    if (type !== undefined && type !== null && type !== 'function') {
      throw new GatewayError('BAD_REQUEST', `tools[${index}]: only function tools are supported, not type '${(typeof type === 'string' ? type : JSON.stringify(type)).slice(0, MAX_NAME_LENGTH)}'`);
    }
  });
}

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function effortOf(reasoning: ReasoningRequest): string {
  if (!reasoning.enabled) return 'none';
  return reasoning.effort ?? 'medium';
}

function clampEffort(effort: string): string {
  const lower = effort.toLowerCase();
  return lower === 'max' || lower === 'ultra' ? 'xhigh' : effort;
}
