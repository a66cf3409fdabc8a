/**
 * ChatEvent batches → OpenAI Responses SSE (`event: <type>` + `data: <json>` frames, every
 * event with the next `sequence_number`), and the `response` object of a non-stream answer.
 * Per delta only its text goes through JSON.stringify; one string is produced per upstream
 * network read.
 *
 * Order: `response.created`, `response.in_progress`; per output item
 * `response.output_item.added`, then
 * - reasoning: `reasoning_summary_part.added`, `reasoning_summary_text.delta`…, `.done`,
 *   `reasoning_summary_part.done`;
 * - message: `content_part.added`, `output_text.delta`…, `output_text.done`, `content_part.done`;
 * - function call: one `function_call_arguments.delta` with the whole arguments (the IR's tool
 *   calls are complete), `function_call_arguments.done`; a custom tool's call (sent upstream as
 *   a function of `{input}`) is a `custom_tool_call` item: `custom_tool_call_input.delta`, `.done`;
 *   a call of a namespace's member carries the member's `name` and its `namespace`;
 * then `response.output_item.done`. When the client asked for `reasoning.encrypted_content`,
 * the reasoning item's `encrypted_content` carries the upstream's reasoning details (a
 * reasoning token: sent back, they go upstream unchanged; reasoning that is only encrypted
 * has no summary part). Last `response.completed` (or `response.incomplete` when cut by the
 * token limit or a filter). An error after the first byte is `response.failed` and the end.
 */
import { randomString } from '../../core/ids.js';
import type { ChatEventBatch, ChatResult, FinishReason, ReasoningDetail, ToolCall, Usage } from '../../core/types.js';
import { toOpenAiErrorBody, type GatewayError } from '../../errors.js';
import type { StreamEncoder } from '../../streaming/encode-stream.js';
import { reasoningToken } from '../reasoning-token.js';
import type { ClientToolName } from './translate.js';

export interface ResponseMeta {
  /** `resp_…`, pinned for the whole answer. */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The request's fields a response object echoes (model as the client named it, instructions, tools…). */
  echo: Record<string, unknown>;
  /** The client asked for `reasoning.encrypted_content`: reasoning items carry the reasoning details. */
  encryptedReasoning?: boolean;
  /** The request's tools by the name they go upstream as: how the client names each, which are custom (toolKinds). */
  tools?: ReadonlyMap<string, ClientToolName>;
}

export function newResponseMeta(echo: Record<string, unknown>, options: Pick<ResponseMeta, 'encryptedReasoning' | 'tools'> = {}): ResponseMeta {
  return { id: `resp_${randomString(24)}`, createdAt: Math.floor(Date.now() / 1000), echo, ...options };
}

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function toResponsesUsage(usage: Usage | undefined): ResponsesUsage {
  const input = usage?.inputTokens ?? 0;
  const output = usage?.outputTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.cachedTokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.reasoningTokens ?? 0 },
    total_tokens: input + output,
  };
}

type Status = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** How an answer ended, in Responses' words. */
function statusOf(reason: FinishReason): { status: Status; incomplete_details: { reason: string } | null } {
  if (reason === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (reason === 'content-filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

type OutputItem = Record<string, unknown>;

/** A reasoning item; with details, their token as `encrypted_content` (sent back, they go upstream unchanged). */
function reasoningItem(id: string, text: string, details?: readonly ReasoningDetail[]): OutputItem {
  const item: OutputItem = { id, type: 'reasoning', summary: text === '' ? [] : [{ type: 'summary_text', text }] };
  if (details !== undefined && details.length > 0) item.encrypted_content = reasoningToken(details);
  return item;
}
const customToolCallItem = (id: string, call: ToolCall, status: Status, named: ClientToolName | undefined): OutputItem => ({
  id, type: 'custom_tool_call', status, call_id: call.id, ...clientName(call, named), input: status === 'in_progress' ? '' : customToolInput(call),
});

/** The tool's name as the client knows it, with its namespace when it is a namespace's member. */
function clientName(call: ToolCall, named: ClientToolName | undefined): { name: string; namespace?: string } {
  if (named === undefined) return { name: call.name };
  return named.namespace === undefined ? { name: named.name } : { name: named.name, namespace: named.namespace };
}

/** A custom tool's input: the `input` string of the function it was sent upstream as, else the arguments as they came. */
function customToolInput(call: ToolCall): string {
  try {
    const parsed = JSON.parse(call.arguments) as { input?: unknown } | null;
    if (typeof parsed?.input === 'string') return parsed.input;
  } catch {
    // not JSON: the model wrote the input itself
  }
  return call.arguments;
}
const messageItem = (id: string, text: string, status: Status): OutputItem => ({
  id, type: 'message', status, role: 'assistant', content: status === 'in_progress' ? [] : [outputText(text)],
});
const functionCallItem = (id: string, call: ToolCall, status: Status, named: ClientToolName | undefined): OutputItem => ({
  id, type: 'function_call', status, call_id: call.id, ...clientName(call, named), arguments: status === 'in_progress' ? '' : call.arguments,
});
const outputText = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

function responseObject(meta: ResponseMeta, fields: { status: Status; output: OutputItem[]; usage: ResponsesUsage | null; incomplete_details?: unknown; error?: unknown }): Record<string, unknown> {
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.createdAt,
    status: fields.status,
    background: false,
    error: fields.error ?? null,
    incomplete_details: fields.incomplete_details ?? null,
    output: fields.output,
    parallel_tool_calls: true,
    previous_response_id: null,
    store: false,
    truncation: 'disabled',
    metadata: {},
    ...meta.echo,
    usage: fields.usage,
  };
}

/** The `response` object of a non-stream answer: reasoning, then the message, then function calls. */
export function responseFromResult(result: ChatResult, meta: ResponseMeta): Record<string, unknown> {
  const output: OutputItem[] = [];
  const details = meta.encryptedReasoning === true ? result.reasoningDetails : undefined;
  if (result.reasoning !== '' || details !== undefined) output.push(reasoningItem(`rs_${randomString(24)}`, result.reasoning, details));
  if (result.text !== '' || result.toolCalls.length === 0) output.push(messageItem(`msg_${randomString(24)}`, result.text, 'completed'));
  for (const call of result.toolCalls) {
    const named = meta.tools?.get(call.name);
    output.push(named?.custom === true ? customToolCallItem(`ctc_${randomString(24)}`, call, 'completed', named) : functionCallItem(`fc_${randomString(24)}`, call, 'completed', named));
  }
  return responseObject(meta, { ...statusOf(result.finishReason), output, usage: toResponsesUsage(result.usage) });
}

type OpenItem = { kind: 'reasoning' | 'message'; id: string; index: number; text: string; summaryOpen?: boolean; details?: ReasoningDetail[] } | undefined;

export class ResponsesStreamEncoder implements StreamEncoder {
  ended = false;
  private sequence = 0;
  private started = false;
  private open: OpenItem;
  /** The finished output items, for the final response object. */
  private readonly output: OutputItem[] = [];

  constructor(private readonly meta: ResponseMeta) {}

  encode(batch: ChatEventBatch): string {
    if (this.ended) return '';
    let out = this.started ? '' : this.start();
    for (const event of batch) {
      switch (event.type) {
        case 'text-delta':
          if (event.text === '') break;
          if (this.open?.kind !== 'message') out += this.openMessage();
          out += this.delta('response.output_text.delta', event.text, ',"content_index":0', ',"logprobs":[]');
          break;
        case 'reasoning-delta':
          if (event.text === '') break;
          if (this.open?.kind !== 'reasoning') out += this.openReasoning();
          if (this.open!.summaryOpen !== true) out += this.openSummary();
          out += this.delta('response.reasoning_summary_text.delta', event.text, ',"summary_index":0', '');
          break;
        case 'reasoning-details':
          if (this.meta.encryptedReasoning !== true) break;
          if (this.open?.kind !== 'reasoning') out += this.openReasoning();
          (this.open!.details ??= []).push(...event.details);
          break;
        case 'tool-call': {
          const named = this.meta.tools?.get(event.call.name);
          out += this.closeOpen() + (named?.custom === true ? this.customToolCall(event.call, named) : this.functionCall(event.call, named));
          break;
        }
        case 'finish': {
          out += this.closeOpen();
          this.ended = true;
          const { status, incomplete_details } = statusOf(event.reason);
          const response = responseObject(this.meta, { status, incomplete_details, output: this.output, usage: toResponsesUsage(event.usage) });
          return out + this.frame(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
        }
        case 'error':
          return out + this.encodeError(event.error);
      }
    }
    return out;
  }

  encodeError(error: GatewayError): string {
    this.ended = true;
    const { message, code } = toOpenAiErrorBody(error).error;
    const response = responseObject(this.meta, { status: 'failed', output: this.output, usage: null, error: { code: code ?? 'server_error', message } });
    return this.frame('response.failed', { response });
  }

  /** One event: its type, the next sequence number, then its fields. */
  private frame(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...fields })}\n\n`;
  }

  /** A delta event, its JSON built around the one stringified text. */
  private delta(type: string, text: string, indexField: string, tail: string): string {
    const open = this.open!;
    open.text += text;
    return `event: ${type}\ndata: {"type":"${type}","sequence_number":${this.sequence++},"item_id":"${open.id}","output_index":${open.index}${indexField},"delta":${JSON.stringify(text)}${tail}}\n\n`;
  }

  private start(): string {
    this.started = true;
    const response = responseObject(this.meta, { status: 'in_progress', output: [], usage: null });
    return this.frame('response.created', { response }) + this.frame('response.in_progress', { response });
  }

  private openMessage(): string {
    const out = this.closeOpen();
    const open = { kind: 'message' as const, id: `msg_${randomString(24)}`, index: this.output.length, text: '' };
    this.open = open;
    return out
      + this.frame('response.output_item.added', { output_index: open.index, item: messageItem(open.id, '', 'in_progress') })
      + this.frame('response.content_part.added', { item_id: open.id, output_index: open.index, content_index: 0, part: outputText('') });
  }

  private openReasoning(): string {
    const out = this.closeOpen();
    const open = { kind: 'reasoning' as const, id: `rs_${randomString(24)}`, index: this.output.length, text: '' };
    this.open = open;
    return out + this.frame('response.output_item.added', { output_index: open.index, item: reasoningItem(open.id, '') });
  }

  /** The open reasoning item's summary part, started by its first text (encrypted-only reasoning has none). */
  private openSummary(): string {
    const open = this.open!;
    open.summaryOpen = true;
    return this.frame('response.reasoning_summary_part.added', { item_id: open.id, output_index: open.index, summary_index: 0, part: { type: 'summary_text', text: '' } });
  }

  /** Ends the open reasoning or message item, if any. */
  private closeOpen(): string {
    const open = this.open;
    if (open === undefined) return '';
    this.open = undefined;
    const at = { item_id: open.id, output_index: open.index };
    if (open.kind === 'reasoning') {
      const item = reasoningItem(open.id, open.text, open.details);
      this.output.push(item);
      const summary = open.summaryOpen === true
        ? this.frame('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: open.text })
          + this.frame('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text: open.text } })
        : '';
      return summary + this.frame('response.output_item.done', { output_index: open.index, item });
    }
    const item = messageItem(open.id, open.text, 'completed');
    this.output.push(item);
    return this.frame('response.output_text.done', { ...at, content_index: 0, text: open.text, logprobs: [] })
      + this.frame('response.content_part.done', { ...at, content_index: 0, part: outputText(open.text) })
      + this.frame('response.output_item.done', { output_index: open.index, item });
  }

  private customToolCall(call: ToolCall, named: ClientToolName): string {
    const id = `ctc_${randomString(24)}`;
    const index = this.output.length;
    const item = customToolCallItem(id, call, 'completed', named);
    this.output.push(item);
    const at = { item_id: id, output_index: index };
    return this.frame('response.output_item.added', { output_index: index, item: customToolCallItem(id, call, 'in_progress', named) })
      + this.frame('response.custom_tool_call_input.delta', { ...at, delta: item.input })
      + this.frame('response.custom_tool_call_input.done', { ...at, input: item.input })
      + this.frame('response.output_item.done', { output_index: index, item });
  }

  private functionCall(call: ToolCall, named: ClientToolName | undefined): string {
    const id = `fc_${randomString(24)}`;
    const index = this.output.length;
    const item = functionCallItem(id, call, 'completed', named);
    this.output.push(item);
    const at = { item_id: id, output_index: index };
    return this.frame('response.output_item.added', { output_index: index, item: functionCallItem(id, call, 'in_progress', named) })
      + this.frame('response.function_call_arguments.delta', { ...at, delta: call.arguments })
      + this.frame('response.function_call_arguments.done', { ...at, name: item.name, arguments: call.arguments })
      + this.frame('response.output_item.done', { output_index: index, item });
  }
}
