/**
 * ChatEvent batches → Anthropic's Messages SSE (`event: <name>` + `data: <json>` frames), and
 * the `message` object of a non-stream answer. The frames' constant parts are literals; per
 * event only the delta goes through JSON.stringify, and one string is produced per upstream
 * network read.
 *
 * Order (as Anthropic sends it): `message_start`, `ping`, then per block `content_block_start`,
 * its deltas (`thinking_delta` then the block's `signature_delta`, `text_delta`, one
 * `input_json_delta` with a tool call's whole input: the IR's tool calls are complete),
 * `content_block_stop` (a `redacted_thinking` block is whole in its start); then `message_delta` with
 * `stop_reason` and the usage, and `message_stop`. An error after the first byte is one
 * `error` event and the end: never a `message_stop`.
 */
import { randomString } from '../../core/ids.js';
import type { ChatEventBatch, ChatResult, FinishReason, ReasoningDetail, ToolCall, Usage } from '../../core/types.js';
import { toAnthropicErrorBody, type GatewayError } from '../../errors.js';
import type { StreamEncoder } from '../../streaming/encode-stream.js';
import { redactedData, thinkingBlocks, thinkingSignature } from './thinking.js';
import { reasoningToken } from '../reasoning-token.js';

export interface AnthropicMessageMeta {
  /** `msg_…`, pinned for the whole answer. */
  id: string;
  /** The model name as the client sent it. */
  model: string;
  /** The prompt's estimated tokens, for `message_start` (the upstream's count comes in `message_delta`). */
  estimatedInputTokens: number;
}

export function newMessageMeta(model: string, estimatedInputTokens: number): AnthropicMessageMeta {
  return { id: `msg_${randomString(24)}`, model, estimatedInputTokens };
}

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

export function toStopReason(reason: FinishReason, hadToolCalls: boolean): AnthropicStopReason {
  if (hadToolCalls || reason === 'tool-calls') return 'tool_use';
  if (reason === 'length') return 'max_tokens';
  if (reason === 'content-filter') return 'refusal';
  return 'end_turn';
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** Anthropic counts cached prompt tokens apart from `input_tokens`; OpenAI's prompt count includes them. */
export function toAnthropicUsage(usage: Usage | undefined): AnthropicUsage {
  const cached = usage?.cachedTokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.inputTokens ?? 0) - cached),
    output_tokens: usage?.outputTokens ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** A tool call's input as an object (the IR carries JSON text; anything else is an empty input). */
export function toolInput(call: ToolCall): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(call.arguments);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: no input
  }
  return {};
}

export function anthropicErrorEvent(error: GatewayError): string {
  return `event: error\ndata: ${JSON.stringify(toAnthropicErrorBody(error))}\n\n`;
}

export const PING = 'event: ping\ndata: {"type":"ping"}\n\n';
const BLOCK_START = 'event: content_block_start\ndata: {"type":"content_block_start","index":';
const TEXT_BLOCK = ',"content_block":{"type":"text","text":""}}\n\n';
const THINKING_BLOCK = ',"content_block":{"type":"thinking","thinking":"","signature":""}}\n\n';
const DELTA = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":';
const TEXT_DELTA = ',"delta":{"type":"text_delta","text":';
const THINKING_DELTA = ',"delta":{"type":"thinking_delta","thinking":';
const INPUT_DELTA = ',"delta":{"type":"input_json_delta","partial_json":';
const SIGNATURE_DELTA = ',"delta":{"type":"signature_delta","signature":';
const DELTA_END = '}}\n\n';
const BLOCK_STOP = 'event: content_block_stop\ndata: {"type":"content_block_stop","index":';
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** The open block: text, thinking, or thinking that has its signature (no more text goes into it). */
type OpenBlock = 'text' | 'thinking' | 'signed' | undefined;

export class AnthropicStreamEncoder implements StreamEncoder {
  ended = false;
  private started = false;
  /** The index of the last block started (-1: none yet). */
  private index = -1;
  private open: OpenBlock;
  private toolCalls = 0;
  /** The thinking text since the last signature: what a signature that comes late signs. */
  private unsignedThinking = '';

  constructor(private readonly meta: AnthropicMessageMeta) {}

  encode(batch: ChatEventBatch): string {
    if (this.ended) return '';
    let output = this.started ? '' : this.start();
    for (const event of batch) {
      switch (event.type) {
        case 'text-delta':
          if (event.text === '') break;
          if (this.open !== 'text') output += this.startBlock('text', TEXT_BLOCK);
          output += DELTA + this.index + TEXT_DELTA + JSON.stringify(event.text) + DELTA_END;
          break;
        case 'reasoning-delta':
          if (event.text === '') break;
          if (this.open !== 'thinking') output += this.startBlock('thinking', THINKING_BLOCK);
          this.unsignedThinking += event.text;
          output += DELTA + this.index + THINKING_DELTA + JSON.stringify(event.text) + DELTA_END;
          break;
        case 'reasoning-details':
          for (const detail of event.details) output += this.encodeDetail(detail);
          break;
        case 'tool-call': {
          const call = event.call;
          output += this.startBlock(undefined, `,"content_block":{"type":"tool_use","id":${JSON.stringify(call.id)},"name":${JSON.stringify(call.name)},"input":{}}}\n\n`);
          output += DELTA + this.index + INPUT_DELTA + JSON.stringify(call.arguments) + DELTA_END + this.stopBlock();
          this.toolCalls++;
          break;
        }
        case 'finish': {
          this.ended = true;
          if (this.open !== undefined) output += this.stopBlock();
          const delta = { stop_reason: toStopReason(event.reason, this.toolCalls > 0), stop_sequence: null };
          return `${output}event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta, usage: toAnthropicUsage(event.usage) })}\n\n${MESSAGE_STOP}`;
        }
        case 'error':
          return output + this.encodeError(event.error);
      }
    }
    return output;
  }

  encodeError(error: GatewayError): string {
    this.ended = true;
    return anthropicErrorEvent(error);
  }

  /**
   * A signature ends the open thinking block. One that came after the answer had started gets
   * a thinking block of its own, without text: its signature is then a reasoning token holding
   * the detail with the thinking text it signs, so that the block, sent back, reaches the
   * upstream as that text with its signature. Encrypted reasoning is a redacted_thinking block.
   */
  private encodeDetail(detail: ReasoningDetail): string {
    let signature = thinkingSignature(detail);
    if (signature !== undefined) {
      let start = '';
      if (this.open !== 'thinking') {
        const text = typeof detail.text === 'string' && detail.text !== '' ? detail.text : this.unsignedThinking;
        signature = reasoningToken([{ ...detail, text }]);
        start = this.startBlock('thinking', THINKING_BLOCK);
      }
      this.unsignedThinking = '';
      this.open = 'signed';
      return start + DELTA + this.index + SIGNATURE_DELTA + JSON.stringify(signature) + DELTA_END;
    }
    const data = redactedData(detail);
    if (data === undefined) return '';
    return this.startBlock(undefined, `,"content_block":{"type":"redacted_thinking","data":${JSON.stringify(data)}}}\n\n`) + this.stopBlock();
  }

  private start(): string {
    this.started = true;
    const message = {
      id: this.meta.id,
      type: 'message',
      role: 'assistant',
      model: this.meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.meta.estimatedInputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
    return `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n${PING}`;
  }

  /** Closes the open block, if any, and starts the next one. */
  private startBlock(kind: OpenBlock, blockJson: string): string {
    const stop = this.open === undefined ? '' : this.stopBlock();
    this.index++;
    this.open = kind;
    return stop + BLOCK_START + this.index + blockJson;
  }

  private stopBlock(): string {
    this.open = undefined;
    return BLOCK_STOP + this.index + '}\n\n';
  }
}

/** The `message` object of a non-stream answer: thinking, then text, then tool calls. */
export function messageObject(result: ChatResult, meta: AnthropicMessageMeta): Record<string, unknown> {
  const content = thinkingBlocks(result);
  if (result.text !== '') content.push({ type: 'text', text: result.text });
  for (const call of result.toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: toolInput(call) });
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    stop_reason: toStopReason(result.finishReason, result.toolCalls.length > 0),
    stop_sequence: null,
    usage: toAnthropicUsage(result.usage),
  };
}
