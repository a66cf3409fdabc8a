/**
 * Anthropic Messages requests → the internal ChatRequest. Pure.
 *
 * - `system` (a string or text blocks) becomes the first message;
 * - a user message's `tool_result` blocks become `tool` messages (before the rest of that
 *   message, as OpenAI-style upstreams want them right after the call), named after the
 *   `tool_use` they answer;
 * - an assistant message's `text`, `thinking` and `tool_use` blocks become one assistant
 *   message with content, reasoning and tool calls; the signatures of its thinking blocks and
 *   its `redacted_thinking` blocks become the reasoning details they came from (thinking.ts);
 * - images are base64 (a data URL) or a URL; unknown block types (`document`, server tool
 *   blocks) are skipped, never a 400;
 * - `tool_choice`: auto, any (OpenAI's `required`), tool (that function), none;
 * - `thinking` enabled/disabled, else `output_config.effort`, is the IR's reasoning
 *   (`budget_tokens` is accepted, not enforced: the IR has no reasoning budget).
 */
import type { AnthropicBlock, AnthropicMessage, AnthropicMessagesRequest } from '#schemas/anthropic.js';
import type { ChatMessage, ChatRequest, ReasoningDetail, ReasoningEffort, ReasoningRequest, SamplingOptions, ToolCall, ToolDefinition } from '../../core/types.js';
import { GatewayError } from '../../errors.js';
import { detailsFromBlock } from './thinking.js';

export function chatRequestFromAnthropic(body: AnthropicMessagesRequest, upstreamModel: string): ChatRequest {
  const messages: ChatMessage[] = [];
  const system = systemText(body.system);
  if (system !== '') messages.push({ role: 'system', content: system });
  const callNames = new Map<string, string>();
  for (const message of body.messages ?? []) appendMessage(messages, message, callNames);
  const request: ChatRequest = { model: upstreamModel, messages, sampling: toSampling(body) };
  const tools = toTools(body.tools);
  if (tools !== undefined) {
    request.tools = tools;
    const choice = toToolChoice(body.tool_choice);
    if (choice !== undefined) request.toolChoice = choice;
  }
  const reasoning = toReasoning(body);
  if (reasoning !== undefined) request.reasoning = reasoning;
  return request;
}

/** `system` as a string or text blocks (other blocks skipped). */
export function systemText(system: AnthropicMessagesRequest['system']): string {
  if (system === undefined || system === null) return '';
  if (typeof system === 'string') return system;
  return textsOf(system).join('\n');
}

function textsOf(blocks: readonly AnthropicBlock[]): string[] {
  const texts: string[] = [];
  for (const block of blocks) if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
  return texts;
}

function appendMessage(messages: ChatMessage[], message: AnthropicMessage, callNames: Map<string, string>): void {
  if (typeof message.content === 'string') {
    messages.push({ role: message.role, content: message.content });
    return;
  }
  if (message.role === 'assistant') {
    messages.push(assistantMessage(message.content, callNames));
    return;
  }
  const user: ChatMessage = { role: 'user', content: '' };
  const texts: string[] = [];
  for (const block of message.content) {
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string') texts.push(block.text);
        break;
      case 'image':
        (user.images ??= []).push(imageUrl(block));
        break;
      case 'tool_result':
        messages.push(toolMessage(block, callNames));
        break;
      default:
        break;
    }
  }
  user.content = texts.join('\n');
  // A message of tool results only adds nothing more.
  if (texts.length > 0 || user.images !== undefined || !message.content.some((block) => block.type === 'tool_result')) messages.push(user);
}

function assistantMessage(blocks: readonly AnthropicBlock[], callNames: Map<string, string>): ChatMessage {
  const converted: ChatMessage = { role: 'assistant', content: '' };
  const texts: string[] = [];
  let reasoning = '';
  const details: ReasoningDetail[] = [];
  for (const block of blocks) {
    if (block.type === 'thinking' || block.type === 'redacted_thinking') details.push(...detailsFromBlock(block, details.length));
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    else if (block.type === 'thinking' && typeof block.thinking === 'string') reasoning += block.thinking;
    else if (block.type === 'tool_use') {
      const call = toolCall(block);
      callNames.set(call.id, call.name);
      (converted.toolCalls ??= []).push(call);
    }
  }
  converted.content = texts.join('');
  if (reasoning !== '') converted.reasoning = reasoning;
  if (details.length > 0) converted.reasoningDetails = details;
  return converted;
}

function toolCall(block: AnthropicBlock): ToolCall {
  const { id, name } = block;
  if (typeof id !== 'string' || id === '' || typeof name !== 'string' || name === '') {
    throw new GatewayError('BAD_REQUEST', 'invalid request: a tool_use block needs an id and a name');
  }
  const input = block.input ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new GatewayError('BAD_REQUEST', `invalid request: the input of tool_use ${id} must be an object`);
  }
  return { id, name, arguments: JSON.stringify(input) };
}

function toolMessage(block: AnthropicBlock, callNames: Map<string, string>): ChatMessage {
  const callId = block.tool_use_id;
  if (typeof callId !== 'string' || callId === '') throw new GatewayError('BAD_REQUEST', 'invalid request: a tool_result block needs a tool_use_id');
  const message: ChatMessage = { role: 'tool', content: '', toolCallId: callId };
  const name = callNames.get(callId);
  if (name !== undefined) message.toolName = name;
  const content = block.content;
  if (typeof content === 'string') {
    message.content = content;
  } else if (Array.isArray(content)) {
    const texts: string[] = [];
    for (const part of content as unknown[]) {
      if (!isBlock(part)) continue;
      if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
      else if (part.type === 'image') (message.images ??= []).push(imageUrl(part));
    }
    message.content = texts.join('\n');
  } else if (content !== undefined && content !== null) {
    throw new GatewayError('BAD_REQUEST', `invalid request: the content of tool_result ${callId} must be a string or blocks`);
  }
  return message;
}

/** An image block's source as the IR's URL: base64 as a data URL, or the URL itself. */
function imageUrl(block: AnthropicBlock): string {
  const source = (typeof block.source === 'object' && block.source !== null ? block.source : {}) as Record<string, unknown>;
  const { data, url } = source;
  const mediaType = typeof source.media_type === 'string' && source.media_type !== '' ? source.media_type : 'image/png';
  if (source.type === 'base64' && typeof data === 'string' && data !== '') return `data:${mediaType};base64,${data}`;
  if (source.type === 'url' && typeof url === 'string' && (url.startsWith('https://') || url.startsWith('http://'))) return url;
  throw new GatewayError('BAD_REQUEST', 'invalid request: an image block needs a base64 source (media_type, data) or a url source');
}

function toSampling(body: AnthropicMessagesRequest): SamplingOptions {
  const sampling: SamplingOptions = {};
  if (typeof body.temperature === 'number') sampling.temperature = body.temperature;
  if (typeof body.top_p === 'number') sampling.topP = body.top_p;
  if (typeof body.top_k === 'number') sampling.topK = body.top_k;
  if (typeof body.max_tokens === 'number' && body.max_tokens > 0) sampling.maxOutputTokens = body.max_tokens;
  if (body.stop_sequences && body.stop_sequences.length > 0) sampling.stop = body.stop_sequences;
  return sampling;
}

/** Tools the client runs; server tools (a `type` other than `custom`, no `input_schema`) are not the gateway's to run: skipped. */
export function toTools(tools: AnthropicMessagesRequest['tools']): ToolDefinition[] | undefined {
  const definitions: ToolDefinition[] = [];
  for (const tool of tools ?? []) {
    if (tool.type && tool.type !== 'custom' && tool.input_schema === undefined) continue;
    const definition: ToolDefinition = { name: tool.name };
    if (tool.description) definition.description = tool.description;
    if (tool.input_schema !== undefined) definition.parameters = tool.input_schema;
    if (typeof tool.strict === 'boolean') definition.strict = tool.strict;
    definitions.push(definition);
  }
  return definitions.length === 0 ? undefined : definitions;
}

/** Anthropic's tool_choice in OpenAI's words (what the IR carries to both backends). */
function toToolChoice(choice: AnthropicMessagesRequest['tool_choice']): unknown {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      if (!choice.name) throw new GatewayError('BAD_REQUEST', 'invalid request: tool_choice of type "tool" needs a name');
      return { type: 'function', function: { name: choice.name } };
  }
}

const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh', 'max']);

/** `thinking` enabled/disabled, else Ollama's `output_config.effort`. */
function toReasoning(body: AnthropicMessagesRequest): ReasoningRequest | undefined {
  const thinking = body.thinking;
  if (thinking !== undefined && thinking !== null) {
    if (thinking.type === 'enabled' || thinking.type === 'adaptive') return { enabled: true };
    if (thinking.type === 'disabled') return { enabled: false };
    throw new GatewayError('BAD_REQUEST', `invalid request: thinking.type must be "enabled", "adaptive" or "disabled", not ${JSON.stringify(thinking.type)}`);
  }
  const effort = body.output_config?.effort;
  if (effort === undefined || effort === null) return undefined;
  if (!EFFORTS.has(effort)) throw new GatewayError('BAD_REQUEST', `invalid reasoning effort: ${JSON.stringify(effort)} (must be "low", "medium", "high", "xhigh" or "max")`);
  return { enabled: true, effort: effort as ReasoningEffort };
}

function isBlock(value: unknown): value is AnthropicBlock {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
