/**
 * OpenAI Responses requests → the internal ChatRequest. Pure.
 *
 * - `instructions` becomes the first (system) message; `input` is a string (one user
 *   message) or items: messages (role user, assistant, system or developer, which is
 *   system; content a string or `input_text` / `output_text` / `input_image` parts),
 *   `function_call` and `custom_tool_call` (an assistant tool call), `function_call_output`
 *   and `custom_tool_call_output` (a tool message named after its call), `reasoning` (its
 *   summary text, and the reasoning details in its `encrypted_content`, go with the next
 *   assistant turn); other item and part types are skipped, never a 400;
 * - function tools, custom tools (as functions of one string), a `namespace` tool's members
 *   (as functions named `<namespace>__<name>`: toolKinds maps them back), `tool_choice` (auto,
 *   none, required, or one function); built-in tools are left out;
 * - `text.format`: `json_schema` and `json_object` are the IR's response format;
 * - `reasoning.effort` is the IR's reasoning (`none` turns it off).
 */
import type { ResponsesInputItem, ResponsesNamespaceMember, ResponsesRequest } from '#schemas/responses.js';
import type { ChatMessage, ChatRequest, ReasoningDetail, ReasoningEffort, ReasoningRequest, ResponseFormat, SamplingOptions, ToolDefinition } from '../../core/types.js';
import { GatewayError } from '../../errors.js';
import { detailsFromToken } from '../reasoning-token.js';

export function chatRequestFromResponses(body: ResponsesRequest, upstreamModel: string): ChatRequest {
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else appendItems(messages, body.input ?? []);
  const request: ChatRequest = { model: upstreamModel, messages, sampling: toSampling(body) };
  const tools = toTools(body.tools);
  if (tools !== undefined) {
    request.tools = tools;
    const choice = toToolChoice(body.tool_choice);
    if (choice !== undefined) request.toolChoice = choice;
  }
  const format = toResponseFormat(body.text?.format);
  if (format !== undefined) request.responseFormat = format;
  const reasoning = toReasoning(body.reasoning?.effort);
  if (reasoning !== undefined) request.reasoning = reasoning;
  return request;
}

function appendItems(messages: ChatMessage[], items: readonly ResponsesInputItem[]): void {
  const callNames = new Map<string, string>();
  // Reasoning items precede the assistant turn they belong to.
  let pendingReasoning = '';
  let pendingDetails: ReasoningDetail[] = [];
  const assistantTurn = (): ChatMessage => {
    const last = messages.at(-1);
    // Consecutive function calls (and the text before them) are one assistant turn.
    if (last?.role === 'assistant' && pendingReasoning === '' && pendingDetails.length === 0) return last;
    const message: ChatMessage = { role: 'assistant', content: '' };
    if (pendingReasoning !== '') message.reasoning = pendingReasoning;
    if (pendingDetails.length > 0) message.reasoningDetails = pendingDetails;
    pendingReasoning = '';
    pendingDetails = [];
    messages.push(message);
    return message;
  };
  const toolOutput = (item: ResponsesInputItem, index: number): void => {
    const callId = requiredString(item.call_id, `input[${index}].call_id`);
    const message: ChatMessage = { role: 'tool', content: outputText(item.output, index), toolCallId: callId };
    const name = callNames.get(callId);
    if (name !== undefined) message.toolName = name;
    messages.push(message);
  };
  items.forEach((item, index) => {
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = toRole(item.role, index);
        const { text, images } = contentOf(item.content, index);
        if (role === 'assistant') {
          const turn = assistantTurn();
          turn.content += text;
          break;
        }
        const message: ChatMessage = { role, content: text };
        if (images.length > 0) message.images = images;
        messages.push(message);
        break;
      }
      case 'function_call': {
        const callId = requiredString(item.call_id, `input[${index}].call_id`);
        const name = upstreamToolName(requiredString(item.name, `input[${index}].name`), item.namespace);
        const args = typeof item.arguments === 'string' ? item.arguments : '{}';
        callNames.set(callId, name);
        (assistantTurn().toolCalls ??= []).push({ id: callId, name, arguments: args });
        break;
      }
      case 'custom_tool_call': {
        const callId = requiredString(item.call_id, `input[${index}].call_id`);
        const name = upstreamToolName(requiredString(item.name, `input[${index}].name`), item.namespace);
        callNames.set(callId, name);
        // As the function the custom tool is sent upstream as (customToolFunction).
        const input = typeof item.input === 'string' ? item.input : '';
        (assistantTurn().toolCalls ??= []).push({ id: callId, name, arguments: JSON.stringify({ input }) });
        break;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
        toolOutput(item, index);
        break;
      case 'reasoning': {
        pendingReasoning += summaryText(item.summary);
        // Only the gateway's own tokens: another server's encrypted content means nothing upstream.
        const details = detailsFromToken(item.encrypted_content);
        if (details !== undefined) pendingDetails.push(...details);
        break;
      }
      default:
        break;
    }
  });
}

const ROLES = new Map<string, ChatMessage['role']>([['user', 'user'], ['assistant', 'assistant'], ['system', 'system'], ['developer', 'system']]);

function toRole(role: unknown, index: number): ChatMessage['role'] {
  const mapped = typeof role === 'string' ? ROLES.get(role) : undefined;
  if (mapped === undefined) throw new GatewayError('BAD_REQUEST', `invalid input[${index}].role: ${JSON.stringify(role ?? null)} (must be "user", "assistant", "system" or "developer")`);
  return mapped;
}

/** A message's content: a string, or parts (text parts joined, images as URLs, other parts skipped). */
function contentOf(content: unknown, index: number): { text: string; images: string[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  if (!Array.isArray(content)) throw new GatewayError('BAD_REQUEST', `invalid input[${index}].content: must be a string or an array of parts`);
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of content as unknown[]) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, text, image_url: imageUrl } = part as Record<string, unknown>;
    if ((type === 'input_text' || type === 'output_text' || type === 'text') && typeof text === 'string') texts.push(text);
    else if (type === 'input_image') images.push(imageUrlOf(imageUrl, index));
  }
  return { text: texts.join('\n'), images };
}

function imageUrlOf(url: unknown, index: number): string {
  if (typeof url === 'string' && (url.startsWith('data:') || url.startsWith('https://') || url.startsWith('http://'))) return url;
  throw new GatewayError('BAD_REQUEST', `invalid input[${index}]: an input_image needs an image_url (a data: or http(s) URL); file_id is not supported`);
}

/** A function_call_output's `output`: a string, or parts whose text is joined. */
function outputText(output: unknown, index: number): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return contentOf(output, index).text;
  throw new GatewayError('BAD_REQUEST', `invalid input[${index}].output: must be a string or an array of parts`);
}

function summaryText(summary: unknown): string {
  if (!Array.isArray(summary)) return '';
  let text = '';
  for (const part of summary as unknown[]) {
    const value = typeof part === 'object' && part !== null ? (part as { text?: unknown }).text : undefined;
    if (typeof value === 'string') text += value;
  }
  return text;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new GatewayError('BAD_REQUEST', `invalid ${field}: a non-empty string is required`);
  return value;
}

function toSampling(body: ResponsesRequest): SamplingOptions {
  const sampling: SamplingOptions = {};
  if (typeof body.temperature === 'number') sampling.temperature = body.temperature;
  if (typeof body.top_p === 'number') sampling.topP = body.top_p;
  if (typeof body.max_output_tokens === 'number' && body.max_output_tokens > 0) sampling.maxOutputTokens = body.max_output_tokens;
  return sampling;
}

/** How the client names a tool the model calls upstream: a namespace's member goes by another name there. */
export interface ClientToolName {
  name: string;
  namespace?: string;
  /** A custom tool: its calls are `custom_tool_call` items. */
  custom: boolean;
}

/** Characters some upstreams refuse in a function's name (OpenAI's and Anthropic's allow these only). */
const UNSAFE_NAME_CHARACTERS = /[^A-Za-z0-9_-]/g;

/**
 * The name a tool goes upstream as: its own, or for a namespace's member `<namespace>__<name>`
 * (a member already named after its namespace, `ns.name` or `ns__name`, is not prefixed twice),
 * in characters every upstream accepts in a function's name.
 */
export function upstreamToolName(name: string, namespace: unknown): string {
  if (typeof namespace !== 'string' || namespace === '') return name;
  let member = name;
  for (const separator of ['.', '__']) {
    if (member.startsWith(namespace + separator)) {
      member = member.slice(namespace.length + separator.length);
      break;
    }
  }
  return `${namespace}__${member}`.replace(UNSAFE_NAME_CHARACTERS, '_');
}

/** The tool types the model calls (a namespace holds such tools); any other is a built-in tool. */
const CALLABLE = new Set(['function', 'custom']);

/** Function and custom tools, a namespace's members among them, each with the namespace it is in. */
function callableTools(tools: ResponsesRequest['tools']): Array<{ tool: ResponsesNamespaceMember; namespace?: string }> {
  const callable: Array<{ tool: ResponsesNamespaceMember; namespace?: string }> = [];
  for (const tool of tools ?? []) {
    if (tool.type === 'namespace') {
      if (!tool.name) throw new GatewayError('BAD_REQUEST', 'invalid tools: a namespace tool needs a name');
      for (const member of tool.tools ?? []) if (CALLABLE.has(member.type)) callable.push({ tool: member, namespace: tool.name });
    } else if (CALLABLE.has(tool.type)) {
      callable.push({ tool });
    }
  }
  return callable;
}

/** The request's tools by the name they go upstream as (how the client names each, and which are custom), and the built-in tools' types it leaves out. */
export function toolKinds(tools: ResponsesRequest['tools']): { byUpstreamName: Map<string, ClientToolName>; builtIn: string[] } {
  const byUpstreamName = new Map<string, ClientToolName>();
  for (const { tool, namespace } of callableTools(tools)) {
    if (!tool.name) continue;
    const named: ClientToolName = { name: tool.name, custom: tool.type === 'custom' };
    if (namespace !== undefined) named.namespace = namespace;
    byUpstreamName.set(upstreamToolName(tool.name, namespace), named);
  }
  const builtIn = (tools ?? []).filter((tool) => !CALLABLE.has(tool.type) && tool.type !== 'namespace').map((tool) => tool.type);
  return { byUpstreamName, builtIn };
}

/**
 * Function tools (with `strict` as sent); custom tools as functions of one string; a
 * namespace's members as functions named after it; built-in tools (web_search, local_shell,
 * file_search, …) run on OpenAI's servers, not the gateway's or OpenRouter's: left out
 * (toolKinds names them, to log).
 */
function toTools(tools: ResponsesRequest['tools']): ToolDefinition[] | undefined {
  const definitions: ToolDefinition[] = [];
  for (const { tool, namespace } of callableTools(tools)) {
    if (!tool.name) throw new GatewayError('BAD_REQUEST', `invalid tools: a ${tool.type} tool needs a name`);
    const name = upstreamToolName(tool.name, namespace);
    if (tool.type === 'custom') {
      definitions.push(customToolFunction(name, tool.description, tool.format));
      continue;
    }
    const definition: ToolDefinition = { name };
    if (tool.description) definition.description = tool.description;
    if (tool.parameters !== undefined && tool.parameters !== null) definition.parameters = tool.parameters;
    if (typeof tool.strict === 'boolean') definition.strict = tool.strict;
    definitions.push(definition);
  }
  return definitions.length === 0 ? undefined : definitions;
}

/**
 * A custom tool (free-form input, maybe held to a grammar) as a function taking `{input:
 * string}`: models behind OpenRouter and Ollama call functions. The grammar goes in the
 * input's description, for the model to follow.
 */
function customToolFunction(name: string, description: string | null | undefined, format: unknown): ToolDefinition {
  const { type, syntax, definition } = (typeof format === 'object' && format !== null ? format : {}) as Record<string, unknown>;
  const grammar = type === 'grammar' && typeof definition === 'string'
    ? ` It must follow this${typeof syntax === 'string' ? ` ${syntax}` : ''} grammar:\n${definition}`
    : '';
  const inputDescription = `The tool's raw input text.${grammar}`;
  const tool: ToolDefinition = {
    name,
    parameters: { type: 'object', properties: { input: { type: 'string', description: inputDescription } }, required: ['input'], additionalProperties: false },
  };
  if (description) tool.description = description;
  return tool;
}

/** Responses' tool_choice in Chat Completions' words (what the IR carries to both backends). */
function toToolChoice(choice: ResponsesRequest['tool_choice']): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') {
    if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
    throw new GatewayError('BAD_REQUEST', `invalid tool_choice: ${JSON.stringify(choice)} (must be "auto", "none", "required" or a function)`);
  }
  // A custom tool is a function upstream.
  if (choice.type === 'function' || choice.type === 'custom') {
    if (!choice.name) throw new GatewayError('BAD_REQUEST', `invalid tool_choice: a ${choice.type} choice needs a name`);
    return { type: 'function', function: { name: upstreamToolName(choice.name, choice.namespace) } };
  }
  throw new GatewayError('BAD_REQUEST', `invalid tool_choice: type ${JSON.stringify(choice.type)} is not supported (only function and custom tools are)`);
}

function toResponseFormat(format: NonNullable<ResponsesRequest['text']>['format']): ResponseFormat | undefined {
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json' };
  if (format.type === 'json_schema') {
    if (typeof format.schema !== 'object' || format.schema === null) throw new GatewayError('BAD_REQUEST', 'invalid text.format: json_schema needs a schema object');
    const schema: ResponseFormat = { type: 'json-schema', schema: format.schema };
    if (format.name) schema.name = format.name;
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    return schema;
  }
  throw new GatewayError('BAD_REQUEST', `invalid text.format.type: ${JSON.stringify(format.type)} (must be "text", "json_object" or "json_schema")`);
}

const EFFORTS = new Set(['minimal', 'low', 'medium', 'high', 'xhigh', 'max']);

function toReasoning(effort: string | null | undefined): ReasoningRequest | undefined {
  if (effort === undefined || effort === null) return undefined;
  if (effort === 'none') return { enabled: false };
  if (!EFFORTS.has(effort)) throw new GatewayError('BAD_REQUEST', `invalid reasoning.effort: ${JSON.stringify(effort)} (must be "none", "minimal", "low", "medium", "high", "xhigh" or "max")`);
  return { enabled: true, effort: effort as ReasoningEffort };
}
