/**
 * OpenAI's /v1 requests → the internal ChatRequest / EmbedRequest. Pure.
 *
 * Follows Ollama's own OpenAI layer (`openai/openai.go` FromChatRequest) where it is a
 * translation rule, and the IR's richer model where Ollama is lossy:
 * - no sampling defaults are injected (Ollama's temperature/top_p 1.0 are for local models);
 * - `max_completion_tokens` is honoured (Ollama ignores it; Copilot sends it for reasoning models);
 * - reasoning effort keeps every level the IR has (`minimal`, `xhigh`, `max`); `none` disables
 *   reasoning and `ultra` is `max`. Each backend clamps to what it accepts (OpenRouter turns
 *   `max` into `xhigh`; an Ollama backend would turn `minimal` into `low`, `xhigh` into `max`);
 * - image parts keep their URL: data URLs as sent, http(s) URLs too (OpenRouter fetches them).
 */
import type { OpenAiChatRequest, OpenAiCompletionRequest, OpenAiMessage } from '#schemas/openai.js';
import { createToolCallId } from '../../core/ids.js';
import type {
  ChatMessage,
  ChatRequest,
  ResponseFormat,
  SamplingOptions,
  ToolCall,
} from '../../core/types.js';
import { GatewayError } from '../../errors.js';
import { toReasoning } from '../../core/reasoning.js';
import { fromFunctionTools } from '../../core/function-tools.js';
import { reasoningDetailsOf } from '../../core/reasoning-details.js';

type ContentPart = Exclude<OpenAiMessage['content'], string | null | undefined>[number];

export function chatRequestFromOpenAi(body: OpenAiChatRequest, upstreamModel: string): ChatRequest {
  const request: ChatRequest = {
    model: upstreamModel,
    messages: toMessages(body.messages ?? []),
    sampling: toSampling(body, body.max_completion_tokens ?? body.max_tokens),
  };
  const tools = fromFunctionTools(body.tools);
  if (tools !== undefined) {
    request.tools = tools;
    if (body.tool_choice !== undefined && body.tool_choice !== null) request.toolChoice = body.tool_choice;
  }
  const format = toResponseFormat(body.response_format ?? undefined);
  if (format !== undefined) request.responseFormat = format;
  const reasoning = toReasoning(body);
  if (reasoning !== undefined) request.reasoning = reasoning;
  if (body.keep_alive !== undefined && body.keep_alive !== null) request.keepAlive = body.keep_alive;
  return request;
}

/** Legacy /v1/completions: the prompt becomes one user message. */
export function chatRequestFromCompletion(body: OpenAiCompletionRequest, upstreamModel: string): ChatRequest {
  if (body.suffix) throw new GatewayError('BAD_REQUEST', `${body.model ?? ''} does not support insert`);
  const request: ChatRequest = {
    model: upstreamModel,
    messages: [{ role: 'user', content: completionPrompt(body.prompt) }],
    sampling: toSampling(body, body.max_tokens),
  };
  const reasoning = toReasoning(body);
  if (reasoning !== undefined) request.reasoning = reasoning;
  if (body.keep_alive !== undefined && body.keep_alive !== null) request.keepAlive = body.keep_alive;
  return request;
}

export function completionPrompt(prompt: OpenAiCompletionRequest['prompt']): string {
  if (prompt === undefined || prompt === null) return '';
  if (typeof prompt === 'string') return prompt;
  if (prompt.length <= 1) return prompt[0] ?? '';
  throw new GatewayError('BAD_REQUEST', 'only one prompt per request is supported; send the prompts one by one');
}

/**
 * Messages: `developer` is a system message; content parts become text plus image URLs;
 * assistant tool calls keep their id and their arguments text; a tool result keeps its
 * `tool_call_id` and gets its function name from `name` or from the call it answers.
 */
export function toMessages(messages: readonly OpenAiMessage[]): ChatMessage[] {
  const result: ChatMessage[] = [];
  const callNames = new Map<string, string>();
  for (const message of messages) {
    const role = message.role === 'developer' ? 'system' : message.role === 'function' ? 'tool' : message.role;
    const converted: ChatMessage = { role, content: '' };
    setContent(converted, message);
    if (role === 'assistant') {
      const reasoning = message.reasoning ?? message.reasoning_content;
      if (reasoning) converted.reasoning = reasoning;
      const details = reasoningDetailsOf((message as { reasoning_details?: unknown }).reasoning_details);
      if (details !== undefined) converted.reasoningDetails = details;
      if (message.tool_calls && message.tool_calls.length > 0) {
        converted.toolCalls = message.tool_calls.map(toToolCall);
        for (const call of converted.toolCalls) callNames.set(call.id, call.name);
      }
    } else if (role === 'tool') {
      if (message.tool_call_id) converted.toolCallId = message.tool_call_id;
      const name = message.name || (message.tool_call_id ? callNames.get(message.tool_call_id) : undefined);
      if (name) converted.toolName = name;
    }
    result.push(converted);
  }
  return result;
}

function setContent(converted: ChatMessage, message: OpenAiMessage): void {
  const content = message.content;
  if (content === undefined || content === null) {
    // Ollama: null content only where the message carries something else.
    if (converted.role === 'assistant' || converted.role === 'tool') return;
    throw new GatewayError('BAD_REQUEST', 'invalid message content type: <nil>');
  }
  if (typeof content === 'string') {
    converted.content = content;
    return;
  }
  const texts: string[] = [];
  for (const part of content) {
    if (part.type === 'text') {
      if (typeof part.text === 'string') texts.push(part.text);
    } else if (part.type === 'image_url') {
      (converted.images ??= []).push(imageUrlOf(part));
    } else {
      throw new GatewayError('BAD_REQUEST', `invalid content part type: ${JSON.stringify(part.type)}`);
    }
  }
  converted.content = texts.join('\n');
}

function imageUrlOf(part: ContentPart): string {
  const value = part.image_url;
  const url = typeof value === 'string' ? value : value?.url;
  if (typeof url === 'string' && (url.startsWith('data:') || url.startsWith('https://') || url.startsWith('http://'))) return url;
  throw new GatewayError('BAD_REQUEST', 'invalid image input');
}

function toToolCall(call: NonNullable<OpenAiMessage['tool_calls']>[number]): ToolCall {
  const args = call.function.arguments;
  return {
    id: call.id || createToolCallId(),
    name: call.function.name,
    arguments: args === undefined || args === null || args === '' ? '{}' : typeof args === 'string' ? args : JSON.stringify(args),
  };
}

export function toResponseFormat(format: OpenAiChatRequest['response_format'] | undefined): ResponseFormat | undefined {
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json' };
  const schema = format.json_schema?.schema;
  if (schema === undefined || schema === null) {
    throw new GatewayError('BAD_REQUEST', 'response_format json_schema needs json_schema.schema');
  }
  const result: ResponseFormat = { type: 'json-schema', schema, name: format.json_schema?.name || 'response' };
  if (typeof format.json_schema?.strict === 'boolean') result.strict = format.json_schema.strict;
  return result;
}


export function toSampling(
  body: Pick<OpenAiChatRequest, 'temperature' | 'top_p' | 'top_k' | 'min_p' | 'seed' | 'stop' | 'frequency_penalty' | 'presence_penalty' | 'repetition_penalty'>,
  maxTokens: number | null | undefined,
): SamplingOptions {
  const sampling: SamplingOptions = {};
  if (typeof body.temperature === 'number') sampling.temperature = body.temperature;
  if (typeof body.top_p === 'number') sampling.topP = body.top_p;
  if (typeof body.top_k === 'number') sampling.topK = body.top_k;
  if (typeof body.min_p === 'number') sampling.minP = body.min_p;
  if (typeof body.seed === 'number') sampling.seed = body.seed;
  if (typeof body.frequency_penalty === 'number') sampling.frequencyPenalty = body.frequency_penalty;
  if (typeof body.presence_penalty === 'number') sampling.presencePenalty = body.presence_penalty;
  if (typeof body.repetition_penalty === 'number') sampling.repetitionPenalty = body.repetition_penalty;
  if (typeof maxTokens === 'number' && maxTokens > 0) sampling.maxOutputTokens = maxTokens;
  if (typeof body.stop === 'string') sampling.stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) sampling.stop = body.stop;
  return sampling;
}

/** `/v1/embeddings` input: a string or strings; `[]` is Ollama's 400. */
export function embeddingsInput(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) {
    if (input.length === 0) throw new GatewayError('BAD_REQUEST', 'invalid input');
    if (input.every((item) => typeof item === 'string')) return input;
  }
  throw new GatewayError('BAD_REQUEST', 'invalid input type');
}

/** `encoding_format`: `float` (default) or `base64`, else Ollama's message. */
export function embeddingsEncoding(format: string | null | undefined): 'float' | 'base64' {
  if (format === undefined || format === null || format === '' || format === 'float') return 'float';
  if (format === 'base64') return 'base64';
  throw new GatewayError('BAD_REQUEST', `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`);
}

/** A vector as OpenAI's base64: little-endian float32. */
export function toBase64Embedding(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString('base64');
}
