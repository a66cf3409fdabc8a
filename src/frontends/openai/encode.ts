/**
 * ChatEvent batches → OpenAI SSE (`chat.completion.chunk` and legacy `text_completion`),
 * and the single objects of non-stream answers. The constant part of every event is
 * serialised once per stream; per event only the delta goes through JSON.stringify, and one
 * string is produced per upstream network read.
 *
 * Wire rules (Ollama 0.32.6+, `middleware/openai.go`): `role` only on the first delta; one
 * pinned `id` (`chatcmpl-…`) and `created`; `system_fingerprint:"fp_ollama"`; reasoning as
 * `{"content":"","reasoning":…,"reasoning_content":…}` (both conventions), OpenRouter's
 * `reasoning_details` as it sent them (complete, once each); complete tool calls
 * in one delta; a separate finish chunk with an empty delta (`stop`/`length`/`tool_calls`);
 * the usage chunk (`choices:[]`) only with `stream_options.include_usage`; then `data: [DONE]`.
 * An error after the first byte is one `data: {"error":{…}}` event and the end: never `[DONE]`.
 */
import type { StreamEncoder } from '../../streaming/encode-stream.js';
import { randomString } from '../../core/ids.js';
import type { ChatEvent, ChatEventBatch, ChatResult, FinishReason, ToolCall, Usage } from '../../core/types.js';
import { GatewayError, toOpenAiErrorBody } from '../../errors.js';

export const SSE_DONE = 'data: [DONE]\n\n';
const SYSTEM_FINGERPRINT = 'fp_ollama';

export type OpenAiFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface OpenAiStreamMeta {
  /** `chatcmpl-…` or `cmpl-…`, pinned for the whole answer. */
  id: string;
  /** Unix seconds, pinned for the whole answer. */
  created: number;
  /** The model name as the client sent it. */
  model: string;
  includeUsage: boolean;
}

export function newChatCompletionMeta(model: string, includeUsage = false): OpenAiStreamMeta {
  return { id: `chatcmpl-${randomString(24)}`, created: Math.floor(Date.now() / 1000), model, includeUsage };
}

export function newCompletionMeta(model: string, includeUsage = false): OpenAiStreamMeta {
  return { id: `cmpl-${randomString(24)}`, created: Math.floor(Date.now() / 1000), model, includeUsage };
}

export function toOpenAiFinishReason(reason: FinishReason, hadToolCalls: boolean): OpenAiFinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return hadToolCalls ? 'tool_calls' : 'stop';
  }
}

export function toOpenAiUsage(usage: Usage | undefined): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = usage?.inputTokens ?? 0;
  const completion = usage?.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function toOpenAiToolCall(call: ToolCall, index: number): Record<string, unknown> {
  return { id: call.id, index, type: 'function', function: { name: call.name, arguments: call.arguments } };
}

/** The in-band error event: OpenAI's error object, then nothing more. */
export function openAiErrorEvent(error: GatewayError): string {
  return `data: ${JSON.stringify(toOpenAiErrorBody(error))}\n\n`;
}

/** The chat and completion SSE encoders, driven by `writeEncodedStream`. */
export type OpenAiSseEncoder = StreamEncoder;

/** The stream prefix shared by every event of one answer: `data: {"id":…,"choices":`. */
function eventHead(meta: OpenAiStreamMeta, object: string): string {
  return `data: {"id":${JSON.stringify(meta.id)},"object":"${object}","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":`;
}

export class OpenAiChatStreamEncoder implements OpenAiSseEncoder {
  ended = false;
  private readonly deltaOpen: string;
  private readonly deltaClose = ',"finish_reason":null}]}\n\n';
  private readonly finishOpen: string;
  private readonly usageOpen: string;
  private first = true;
  private toolCallCount = 0;

  constructor(
    private readonly meta: OpenAiStreamMeta,
  ) {
    const head = eventHead(meta, 'chat.completion.chunk');
    this.deltaOpen = `${head}[{"index":0,"delta":{`;
    this.finishOpen = `${head}[{"index":0,"delta":{},"finish_reason":"`;
    this.usageOpen = `${head}[],"usage":`;
  }

  encode(batch: ChatEventBatch): string {
    if (this.ended) return '';
    let output = '';
    let toolCalls = '';
    for (const event of batch) {
      if (event.type === 'tool-call') {
        toolCalls += (toolCalls === '' ? '' : ',') + JSON.stringify(toOpenAiToolCall(event.call, event.index));
        this.toolCallCount++;
        continue;
      }
      if (toolCalls !== '') {
        output += this.delta(`"content":"","tool_calls":[${toolCalls}]`);
        toolCalls = '';
      }
      switch (event.type) {
        case 'text-delta':
          output += this.delta(`"content":${JSON.stringify(event.text)}`);
          break;
        case 'reasoning-delta': {
          const text = JSON.stringify(event.text);
          output += this.delta(`"content":"","reasoning":${text},"reasoning_content":${text}`);
          break;
        }
        case 'reasoning-details':
          output += this.delta(`"content":"","reasoning_details":${JSON.stringify(event.details)}`);
          break;
        case 'finish':
          return output + this.finish(event);
        case 'error':
          return output + this.encodeError(event.error);
      }
    }
    if (toolCalls !== '') output += this.delta(`"content":"","tool_calls":[${toolCalls}]`);
    return output;
  }

  encodeError(error: GatewayError): string {
    this.ended = true;
    return openAiErrorEvent(error);
  }

  /** One delta event; the first of the answer carries the role. */
  private delta(fields: string): string {
    if (this.first) {
      this.first = false;
      return `${this.deltaOpen}"role":"assistant",${fields}}${this.deltaClose}`;
    }
    return `${this.deltaOpen}${fields}}${this.deltaClose}`;
  }

  private finish(event: Extract<ChatEvent, { type: 'finish' }>): string {
    this.ended = true;
    // An empty answer still tells the client who is speaking.
    let output = this.first ? this.delta('"content":""') : '';
    output += `${this.finishOpen}${toOpenAiFinishReason(event.reason, this.toolCallCount > 0)}"}]}\n\n`;
    if (this.meta.includeUsage) output += `${this.usageOpen}${JSON.stringify(toOpenAiUsage(event.usage))}}\n\n`;
    return output + SSE_DONE;
  }
}

/**
 * Legacy `text_completion` events: text deltas only (reasoning and tool calls have no place
 * in this dialect), then a finish event, the optional usage event and `[DONE]`.
 */
export class OpenAiCompletionStreamEncoder implements OpenAiSseEncoder {
  ended = false;
  private readonly textOpen: string;
  private readonly textClose = ',"index":0,"finish_reason":null}]}\n\n';
  private readonly finishOpen: string;
  private readonly usageOpen: string;

  constructor(private readonly meta: OpenAiStreamMeta) {
    const head = eventHead(meta, 'text_completion');
    this.textOpen = `${head}[{"text":`;
    this.finishOpen = `${head}[{"text":"","index":0,"finish_reason":"`;
    this.usageOpen = `${head}[],"usage":`;
  }

  encode(batch: ChatEventBatch): string {
    if (this.ended) return '';
    let output = '';
    for (const event of batch) {
      switch (event.type) {
        case 'text-delta':
          output += this.textOpen + JSON.stringify(event.text) + this.textClose;
          break;
        case 'finish':
          this.ended = true;
          output += `${this.finishOpen}${event.reason === 'length' ? 'length' : 'stop'}"}]}\n\n`;
          if (this.meta.includeUsage) output += `${this.usageOpen}${JSON.stringify(toOpenAiUsage(event.usage))}}\n\n`;
          return output + SSE_DONE;
        case 'error':
          return output + this.encodeError(event.error);
        default:
          break;
      }
    }
    return output;
  }

  encodeError(error: GatewayError): string {
    this.ended = true;
    return openAiErrorEvent(error);
  }
}

/** The `chat.completion` object of a non-stream answer. */
export function chatCompletionObject(result: ChatResult, meta: OpenAiStreamMeta): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: result.text };
  if (result.reasoning) {
    message.reasoning = result.reasoning;
    message.reasoning_content = result.reasoning;
  }
  if (result.reasoningDetails !== undefined) message.reasoning_details = result.reasoningDetails;
  if (result.toolCalls.length > 0) message.tool_calls = result.toolCalls.map(toOpenAiToolCall);
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, message, finish_reason: toOpenAiFinishReason(result.finishReason, result.toolCalls.length > 0) }],
    usage: toOpenAiUsage(result.usage),
  };
}

/** The `text_completion` object of a non-stream legacy completion. */
export function completionObject(result: ChatResult, meta: OpenAiStreamMeta): Record<string, unknown> {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ text: result.text, index: 0, finish_reason: result.finishReason === 'length' ? 'length' : 'stop', logprobs: null }],
    usage: toOpenAiUsage(result.usage),
  };
}
