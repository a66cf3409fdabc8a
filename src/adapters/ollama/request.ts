/**
 * ChatRequest / EmbedRequest → Ollama `/api/chat` and `/api/embed` bodies. Pure.
 *
 * The inverse of the Ollama front end's translator: images go back to bare base64, tool-call
 * arguments back to objects, reasoning back to `think`, sampling back to `options`. Only what
 * the client set is sent: Ollama applies the model's own Modelfile defaults to the rest, and
 * an injected default would silently override them.
 */
import { OLLAMA_OPTION_FIELDS, samplingToWire } from '../../core/sampling-fields.js';
import { GatewayError } from '../../errors.js';
import { toBareBase64 } from '../../core/image-data-url.js';
import type { ChatMessage, ChatRequest, EmbedRequest, ReasoningRequest, ResponseFormat, SamplingOptions, ToolCall } from '../../core/types.js';
import { toFunctionTools } from '../../core/function-tools.js';

type JsonObject = Record<string, unknown>;

/** Ollama's `think`: a switch, or a level (`max` since Ollama 0.22). */
export type OllamaThink = boolean | 'low' | 'medium' | 'high' | 'max';

export function toOllamaChatBody(request: ChatRequest): JsonObject {
  const body: JsonObject = {
    model: request.model,
    messages: request.messages.map(toOllamaMessage),
    // Always streamed: non-stream answers are collected from the same decoder.
    stream: true,
  };
  // Ollama has no tool_choice. "none" is honoured by not offering the tools at all; "auto",
  // "required" and a named function cannot be forced, so the tools are offered as they are.
  if (request.tools !== undefined && request.tools.length > 0 && request.toolChoice !== 'none') {
    body.tools = toFunctionTools(request.tools);
  }
  if (request.responseFormat !== undefined) body.format = toOllamaFormat(request.responseFormat);
  if (request.reasoning !== undefined) body.think = toOllamaThink(request.reasoning);
  const options = toOllamaOptions(request.sampling);
  if (Object.keys(options).length > 0) body.options = options;
  if (request.keepAlive !== undefined) body.keep_alive = request.keepAlive;
  if (request.logprobs !== undefined) {
    body.logprobs = true;
    if (request.logprobs.top > 0) body.top_logprobs = request.logprobs.top;
  }
  return body;
}

export function toOllamaEmbedBody(request: EmbedRequest): JsonObject {
  // `truncate: true` is Ollama's default, sent explicitly so a long input never becomes a 400
  // that OpenRouter-backed clients would not see for the same request.
  const body: JsonObject = { model: request.model, input: request.input, truncate: true };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  return body;
}

/**
 * Reasoning → `think`. Ollama accepts true/false and the levels low, medium, high and max.
 * `minimal` has no Ollama level and becomes `low` (the closest one that still thinks; it is
 * also what Ollama's own OpenAI layer does since 0.32.11); `xhigh` and `max` become `max`,
 * Ollama's strongest (an upstream older than 0.22 rejects it with a 400 that is passed on).
 */
export function toOllamaThink(reasoning: ReasoningRequest): OllamaThink {
  if (!reasoning.enabled) return false;
  switch (reasoning.effort) {
    case undefined:
      return true;
    case 'minimal':
      return 'low';
    case 'low':
    case 'medium':
    case 'high':
      return reasoning.effort;
    case 'xhigh':
    case 'max':
      return 'max';
  }
}

export function toOllamaOptions(sampling: SamplingOptions): JsonObject {
  return samplingToWire(sampling, OLLAMA_OPTION_FIELDS);
}

function toOllamaFormat(format: ResponseFormat): unknown {
  return format.type === 'json' ? 'json' : format.schema;
}

function toOllamaMessage(message: ChatMessage): JsonObject {
  const result: JsonObject = { role: message.role, content: message.content };
  if (message.images !== undefined && message.images.length > 0) result.images = message.images.map(toOllamaImage);
  if (message.role === 'assistant') {
    if (message.reasoning) result.thinking = message.reasoning;
    if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
      result.tool_calls = message.toolCalls.map(toOllamaToolCall);
    }
  }
  if (message.role === 'tool') {
    if (message.toolCallId !== undefined) result.tool_call_id = message.toolCallId;
    if (message.toolName !== undefined) result.tool_name = message.toolName;
  }
  return result;
}

/** Ollama takes bare base64 only: it cannot fetch a URL, and a data URL fails its base64 decoding. */
function toOllamaImage(url: string): string {
  if (/^https?:\/\//i.test(url)) {
    throw new GatewayError('BAD_REQUEST', 'image URLs are not currently supported, please use base64 encoded data instead');
  }
  if (url.startsWith('data:') && !/^data:[^,]*;base64,/i.test(url)) {
    throw new GatewayError('BAD_REQUEST', 'image data URLs must be base64 encoded');
  }
  const base64 = toBareBase64(url);
  if (base64 === undefined || base64 === '') throw new GatewayError('BAD_REQUEST', 'invalid image data');
  return base64;
}

function toOllamaToolCall(call: ToolCall, index: number): JsonObject {
  const fn = { index, name: call.name, arguments: parseArguments(call.arguments) };
  // Ollama's own field order: id first (omitted when empty), then the function.
  return call.id === '' ? { function: fn } : { id: call.id, function: fn };
}

/** JSON text → the object Ollama requires (it rejects a string with a 400). Empty text means no arguments. */
function parseArguments(text: string): JsonObject {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'invalid tool call arguments');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('BAD_REQUEST', 'invalid tool call arguments');
  }
  return parsed as JsonObject;
}
