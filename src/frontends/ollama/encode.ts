/**
 * ChatEvent batches → Ollama NDJSON (chat and generate), and the single object of a
 * `stream:false` answer. The constant part of every line is serialised once per stream;
 * per event only the delta text goes through JSON.stringify, and one string is produced per
 * upstream network read.
 *
 * Wire rules (ollama/ollama server and ollama-js): `content`/`response` always present;
 * thinking in its own field; tool calls as objects in a `done:false` line before the final
 * line; the final line has `done:true`, `done_reason` and integer-nanosecond metrics; an
 * error after the first byte is one `{"error": "..."}` line and then the end, never `done`.
 */
import type { StreamEncoder } from '../../streaming/encode-stream.js';
import { nowRfc3339Nano } from '../../core/clock.js';
import type { AnswerTokenLogprob, ChatEvent, ChatEventBatch, ChatResult, FinishReason, ToolCall, Usage } from '../../core/types.js';
import { logprobsToOllama } from '../../core/logprobs.js';
import { GatewayError } from '../../errors.js';

export type OllamaEndpoint = 'chat' | 'generate';

/**
 * Monotonic marks (`performance.now()`, milliseconds as a double with sub-microsecond digits)
 * for Ollama's duration metrics, reported in integer nanoseconds.
 */
export class StreamTiming {
  readonly startedAt = performance.now();
  upstreamAcceptedAt: number | undefined;
  firstTokenAt: number | undefined;
  lastTokenAt: number | undefined;

  markUpstreamAccepted(): void {
    this.upstreamAcceptedAt = performance.now();
  }

  markToken(): void {
    const now = performance.now();
    this.firstTokenAt ??= now;
    this.lastTokenAt = now;
  }

  /** The six metrics; zero counts are omitted, durations are at least 1 ns. */
  metrics(usage: Usage | undefined): Record<string, number> {
    const end = performance.now();
    const accepted = this.upstreamAcceptedAt ?? this.startedAt;
    const firstToken = this.firstTokenAt ?? end;
    const lastToken = this.lastTokenAt ?? end;
    const metrics: Record<string, number> = {
      total_duration: nanoseconds(end - this.startedAt),
      load_duration: nanoseconds(accepted - this.startedAt),
    };
    if (usage?.inputTokens) metrics.prompt_eval_count = usage.inputTokens;
    metrics.prompt_eval_duration = nanoseconds(firstToken - accepted);
    if (usage?.outputTokens) metrics.eval_count = usage.outputTokens;
    metrics.eval_duration = nanoseconds(lastToken - firstToken);
    return metrics;
  }
}

/** A duration in milliseconds as integer nanoseconds, at least 1. */
function nanoseconds(milliseconds: number): number {
  const value = Math.round(milliseconds * 1_000_000);
  return value > 0 ? value : 1;
}

export function toDoneReason(reason: FinishReason): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

/** Ollama tool calls: arguments as an object. Text that is not a JSON object is an error, as in Ollama. */
export function toOllamaToolCalls(calls: readonly ToolCall[]): Array<Record<string, unknown>> {
  return calls.map((call, index) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(call.arguments);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new GatewayError('UPSTREAM_BAD_RESPONSE', `error parsing tool call: raw='${call.arguments}'`);
    }
    return { id: call.id, function: { index, name: call.name, arguments: parsed } };
  });
}

export class OllamaStreamEncoder implements StreamEncoder {
  /** True once the final line or an error line has been produced. */
  ended = false;
  private readonly head: string;
  private readonly textOpen: string;
  private readonly thinkingOpen: string;
  private readonly close: string;
  private toolCallCount = 0;
  /** The answer's text, kept only when the final line carries a `context` built from it. */
  private readonly answerParts: string[] | undefined;

  constructor(
    model: string,
    private readonly endpoint: OllamaEndpoint,
    private readonly timing: StreamTiming,
    /** Generate's `context` for the final line, from the answer's text (generate-context.ts). */
    private readonly contextOf?: (answer: string) => number[],
  ) {
    this.answerParts = contextOf === undefined ? undefined : [];
    this.head = `{"model":${JSON.stringify(model)},"created_at":"`;
    if (endpoint === 'chat') {
      this.textOpen = '","message":{"role":"assistant","content":';
      this.thinkingOpen = '","message":{"role":"assistant","content":"","thinking":';
      this.close = '},"done":false}\n';
    } else {
      this.textOpen = '","response":';
      this.thinkingOpen = '","response":"","thinking":';
      this.close = ',"done":false}\n';
    }
  }

  /** The NDJSON text for one batch ('' when it carries nothing to send). */
  encode(batch: ChatEventBatch): string {
    if (this.ended) return '';
    const createdAt = nowRfc3339Nano();
    // Token timing is per batch (one network read), like the timestamps.
    const first = batch[0];
    if (first !== undefined && first.type !== 'finish' && first.type !== 'error') this.timing.markToken();
    let output = '';
    let toolCalls: ToolCall[] | undefined;
    for (const event of batch) {
      switch (event.type) {
        case 'text-delta':
          output += this.head + createdAt + this.textOpen + JSON.stringify(event.text) + (event.logprobs === undefined ? this.close : this.closeWithLogprobs(event.logprobs));
          this.answerParts?.push(event.text);
          break;
        case 'reasoning-delta':
          output += this.head + createdAt + this.thinkingOpen + JSON.stringify(event.text) + this.close;
          break;
        case 'tool-call':
          (toolCalls ??= []).push(event.call);
          break;
        case 'finish':
          if (toolCalls !== undefined) {
            const line = this.toolCallLine(toolCalls, createdAt);
            if (this.ended) return output + line;
            output += line;
          }
          return output + this.finalLine(event, createdAt);
        case 'error':
          return output + this.encodeError(event.error);
      }
    }
    if (toolCalls !== undefined) output += this.toolCallLine(toolCalls, createdAt);
    return output;
  }

  /** The line's end with the tokens' `logprobs` after `done`, where Ollama puts them. */
  private closeWithLogprobs(logprobs: readonly AnswerTokenLogprob[]): string {
    return `${this.close.slice(0, -2)},"logprobs":${JSON.stringify(logprobsToOllama(logprobs))}}\n`;
  }

  /** One `{"error": "..."}` line; nothing follows it. */
  encodeError(error: GatewayError): string {
    this.ended = true;
    return `${JSON.stringify({ error: error.message })}\n`;
  }

  private toolCallLine(calls: ToolCall[], createdAt: string): string {
    let converted: Array<Record<string, unknown>>;
    try {
      converted = toOllamaToolCalls(calls);
    } catch (error) {
      return this.encodeError(error as GatewayError);
    }
    for (const call of converted) (call.function as { index: number }).index = this.toolCallCount++;
    const toolCalls = JSON.stringify(converted);
    return this.endpoint === 'chat'
      ? `${this.head}${createdAt}","message":{"role":"assistant","content":"","tool_calls":${toolCalls}},"done":false}\n`
      : `${this.head}${createdAt}","response":"","tool_calls":${toolCalls},"done":false}\n`;
  }

  private finalLine(event: Extract<ChatEvent, { type: 'finish' }>, createdAt: string): string {
    this.ended = true;
    const empty = this.endpoint === 'chat' ? '","message":{"role":"assistant","content":""}' : '","response":""';
    const metrics = JSON.stringify(this.timing.metrics(event.usage)).slice(1, -1);
    const context = this.contextOf === undefined ? '' : `"context":${JSON.stringify(this.contextOf(this.answerParts!.join('')))},`;
    return `${this.head}${createdAt}${empty},"done":true,"done_reason":"${toDoneReason(event.reason)}",${context}${metrics}}\n`;
  }
}

/** The single JSON object of a `stream:false` answer; `context` only for generate (generate-context.ts). */
export function ollamaFinalObject(
  model: string,
  endpoint: OllamaEndpoint,
  result: ChatResult,
  timing: StreamTiming,
  context?: number[],
): Record<string, unknown> {
  const answer: Record<string, unknown> = { model, created_at: nowRfc3339Nano() };
  if (endpoint === 'chat') {
    const message: Record<string, unknown> = { role: 'assistant', content: result.text };
    if (result.reasoning) message.thinking = result.reasoning;
    if (result.toolCalls.length > 0) message.tool_calls = toOllamaToolCalls(result.toolCalls);
    answer.message = message;
  } else {
    answer.response = result.text;
    if (result.reasoning) answer.thinking = result.reasoning;
  }
  answer.done = true;
  answer.done_reason = toDoneReason(result.finishReason);
  if (context !== undefined) answer.context = context;
  if (result.logprobs !== undefined) answer.logprobs = logprobsToOllama(result.logprobs);
  return Object.assign(answer, timing.metrics(result.usage));
}

/** A load/unload answer: chat with no messages, generate with no prompt. */
export function ollamaLoadObject(model: string, endpoint: OllamaEndpoint, unload: boolean): Record<string, unknown> {
  const answer: Record<string, unknown> = { model, created_at: nowRfc3339Nano() };
  if (endpoint === 'chat') answer.message = { role: 'assistant', content: '' };
  else answer.response = '';
  answer.done = true;
  answer.done_reason = unload ? 'unload' : 'load';
  return answer;
}
