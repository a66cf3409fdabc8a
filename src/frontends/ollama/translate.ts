/**
 * Ollama's native requests → the internal ChatRequest / EmbedRequest. Pure.
 */
import type { OllamaChatRequest, OllamaGenerateRequest, OllamaMessage } from '#schemas/ollama.js';
import { GatewayError } from '../../errors.js';
import { createToolCallId } from '../../core/ids.js';
import { toImageUrl } from '../../core/image-data-url.js';
import { samplingFromOptions } from '../../core/ollama-options.js';
import { toReasoning } from '../../core/reasoning.js';
import { MAX_TOP_LOGPROBS } from '../../core/logprobs.js';
import type { ChatMessage, ChatRequest, ResponseFormat, ToolCall } from '../../core/types.js';
import { fromFunctionTools } from '../../core/function-tools.js';
import { decodeGenerateContext } from './generate-context.js';

export { samplingFromOptions };

export function chatRequestFromOllama(body: OllamaChatRequest, upstreamModel: string): ChatRequest {
  const request: ChatRequest = {
    model: upstreamModel,
    messages: toMessages(body.messages ?? []),
    sampling: samplingFromOptions(body.options ?? undefined),
  };
  const tools = fromFunctionTools(body.tools);
  if (tools !== undefined) request.tools = tools;
  return withCommonFields(request, body);
}

export function chatRequestFromGenerate(body: OllamaGenerateRequest, upstreamModel: string): ChatRequest {
  if (body.suffix) {
    throw new GatewayError('BAD_REQUEST', `${body.model ?? ''} does not support insert`);
  }
  if (body.raw && (body.system || body.template || (body.context && body.context.length > 0))) {
    throw new GatewayError('BAD_REQUEST', 'raw mode does not support template, system, or context');
  }
  // The conversation so far, from the `context` of an earlier answer (generate-context.ts).
  const earlier = body.context && body.context.length > 0 ? decodeGenerateContext(body.context) : [];
  const messages: ChatMessage[] = [];
  if (body.system) messages.push({ role: 'system', content: body.system });
  for (const message of earlier) if (message.role !== 'system' || !body.system) messages.push(message);
  const user: ChatMessage = { role: 'user', content: body.prompt ?? '' };
  if (body.images && body.images.length > 0) user.images = body.images.map(toImageUrl);
  messages.push(user);
  const request: ChatRequest = { model: upstreamModel, messages, sampling: samplingFromOptions(body.options ?? undefined) };
  return withCommonFields(request, body);
}

function withCommonFields(request: ChatRequest, body: OllamaChatRequest | OllamaGenerateRequest): ChatRequest {
  const format = toResponseFormat(body.format);
  if (format !== undefined) request.responseFormat = format;
  const reasoning = toReasoning({ think: body.think });
  if (reasoning !== undefined) request.reasoning = reasoning;
  if (body.keep_alive !== undefined && body.keep_alive !== null) request.keepAlive = body.keep_alive;
  const top = body.top_logprobs ?? 0;
  if (top < 0 || top > MAX_TOP_LOGPROBS) throw new GatewayError('BAD_REQUEST', `top_logprobs must be between 0 and ${MAX_TOP_LOGPROBS}`);
  if (body.logprobs === true) request.logprobs = { top };
  return request;
}

/**
 * Messages, with tool calls' arguments objects turned into JSON text and every tool result
 * paired with the call it answers: by id, else by function name, else by position (Home
 * Assistant sends results with neither id nor name).
 */
export function toMessages(messages: OllamaMessage[]): ChatMessage[] {
  const result: ChatMessage[] = [];
  let unanswered: ToolCall[] = [];
  for (const message of messages) {
    const converted: ChatMessage = { role: message.role, content: message.content ?? '' };
    if (message.images && message.images.length > 0) converted.images = message.images.map(toImageUrl);
    if (message.role === 'assistant') {
      if (message.thinking) converted.reasoning = message.thinking;
      if (message.tool_calls && message.tool_calls.length > 0) {
        converted.toolCalls = message.tool_calls.map((call) => ({
          id: call.id || createToolCallId(),
          name: call.function.name,
          arguments: argumentsText(call.function.arguments),
        }));
        unanswered = [...converted.toolCalls];
      } else {
        unanswered = [];
      }
    } else if (message.role === 'tool') {
      const answered = pairToolResult(unanswered, message.tool_call_id ?? undefined, message.tool_name ?? undefined);
      if (answered !== undefined) unanswered = unanswered.filter((call) => call !== answered);
      converted.toolCallId = message.tool_call_id || answered?.id || createToolCallId();
      const name = message.tool_name || answered?.name;
      if (name) converted.toolName = name;
    }
    result.push(converted);
  }
  return result;
}

function pairToolResult(unanswered: ToolCall[], id: string | undefined, name: string | undefined): ToolCall | undefined {
  if (id) return unanswered.find((call) => call.id === id);
  if (name) return unanswered.find((call) => call.name === name);
  return unanswered[0];
}

function argumentsText(value: Record<string, unknown> | string | undefined): string {
  if (value === undefined) return '{}';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function toResponseFormat(format: OllamaChatRequest['format']): ResponseFormat | undefined {
  if (format === undefined || format === null || format === '') return undefined;
  if (typeof format === 'string') {
    if (format === 'json') return { type: 'json' };
    throw new GatewayError('BAD_REQUEST', `invalid format: ${JSON.stringify(format)}; expected "json" or a valid JSON Schema object`);
  }
  return { type: 'json-schema', schema: format, name: 'response' };
}
