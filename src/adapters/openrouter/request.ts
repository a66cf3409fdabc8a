/**
 * ChatRequest / EmbedRequest → OpenRouter request bodies. Pure.
 */
import { OPENAI_SAMPLING_FIELDS, samplingToWire } from '../../core/sampling-fields.js';
import type { ChatMessage, ChatRequest, EmbedRequest, ReasoningRequest, ResponseFormat } from '../../core/types.js';
import { toFunctionTools } from '../../core/function-tools.js';

type JsonObject = Record<string, unknown>;

export function toOpenRouterChatBody(request: ChatRequest): JsonObject {
  const body: JsonObject = {
    model: request.model,
    messages: request.messages.map(toOpenRouterMessage),
    stream: true,
    // Deprecated no-ops on today's OpenRouter (usage is always sent) but harmless; older
    // deployments and relays still need them to report usage.
    stream_options: { include_usage: true },
    usage: { include: true },
  };
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = toFunctionTools(request.tools, { strict: true });
    if (request.toolChoice !== undefined) body.tool_choice = request.toolChoice;
  }
  if (request.responseFormat !== undefined) body.response_format = toResponseFormat(request.responseFormat);
  if (request.reasoning !== undefined) body.reasoning = reasoningToWire(request.reasoning);
  if (request.logprobs !== undefined) {
    body.logprobs = true;
    if (request.logprobs.top > 0) body.top_logprobs = request.logprobs.top;
  }
  Object.assign(body, samplingToWire(request.sampling, OPENAI_SAMPLING_FIELDS));
  if (request.provider !== undefined) body.provider = request.provider;
  return body;
}

export function toOpenRouterEmbedBody(request: EmbedRequest): JsonObject {
  const body: JsonObject = { model: request.model, input: request.input, encoding_format: 'float' };
  if (request.dimensions !== undefined) body.dimensions = request.dimensions;
  return body;
}

function toOpenRouterMessage(message: ChatMessage): JsonObject {
  const result: JsonObject = { role: message.role };
  if (message.images !== undefined && message.images.length > 0) {
    const parts: JsonObject[] = [];
    if (message.content !== '') parts.push({ type: 'text', text: message.content });
    for (const url of message.images) parts.push({ type: 'image_url', image_url: { url } });
    result.content = parts;
  } else {
    result.content = message.content;
  }
  if (message.role === 'assistant') {
    if (message.reasoning) result.reasoning = message.reasoning;
    // As the upstream sent them, unchanged: Claude and Gemini check them on a tool continuation.
    if (message.reasoningDetails !== undefined && message.reasoningDetails.length > 0) result.reasoning_details = message.reasoningDetails;
    if (message.toolCalls !== undefined && message.toolCalls.length > 0) {
      result.tool_calls = message.toolCalls.map((call) => ({
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: call.arguments },
      }));
    }
  }
  if (message.role === 'tool') {
    if (message.toolCallId !== undefined) result.tool_call_id = message.toolCallId;
    if (message.toolName !== undefined) result.name = message.toolName;
  }
  return result;
}

function toResponseFormat(format: ResponseFormat): JsonObject {
  if (format.type === 'json') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name ?? 'response',
      schema: format.schema,
      ...(format.strict === undefined ? {} : { strict: format.strict }),
    },
  };
}

function reasoningToWire(reasoning: ReasoningRequest): JsonObject {
  if (!reasoning.enabled) return { enabled: false };
  if (reasoning.effort === undefined) return { enabled: true };
  // OpenRouter rejected "max" in 2026; its strongest level everywhere is "xhigh".
  return { effort: reasoning.effort === 'max' ? 'xhigh' : reasoning.effort };
}
