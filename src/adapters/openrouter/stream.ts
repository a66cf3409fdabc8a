/**
 * OpenRouter's chat SSE → ChatEvent batches, one batch per network read. Pure: it only
 * consumes an iterable of bytes. Every upstream line is JSON-parsed once, nothing is
 * validated per chunk, and consecutive text (or reasoning) within one read is merged.
 *
 * Follows the reference parse algorithm: the first non-null finish_reason wins, usage is
 * taken from whichever chunk carries it (all three shapes), tool-call fragments are
 * assembled by index and emitted complete even when the finish reason says `stop`, an
 * error event, an unreadable event (not JSON, or JSON but not an object) or an end without
 * a finish reason becomes an `error` event.
 */
import { GatewayError } from '../../errors.js';
import { OPENROUTER, openRouterErrorIn } from './errors.js';
import type { BodyPiece } from '../../core/body-piece.js';
import { DecodedStream, appendDelta } from '../../streaming/decode-stream.js';
import { SseDecoder } from '../../streaming/sse-decoder.js';
import { FramedDecoder, type FrameHandler } from '../../streaming/framed-decoder.js';
import { TextChunkShape } from './text-chunk-shape.js';
import type { AnswerOrigin, ChatEvent, FinishReason, ReasoningDetail, ToolCall, Usage } from '../../core/types.js';
import { ReasoningDetailsMerger } from '../../core/reasoning-details.js';
import { finishReasonFromOpenAi, originFromOpenAi, usageFromOpenAi } from '../../core/openai-answer.js';
import { createToolCallId } from '../../core/ids.js';
import { appendLogprobs } from '../../core/logprobs.js';

interface PendingToolCall {
  id: string;
  name: string;
  arguments: string;
}

interface ChunkDelta {
  content?: unknown;
  reasoning?: unknown;
  reasoning_content?: unknown;
  reasoning_details?: unknown;
  tool_calls?: unknown;
}

interface ChunkChoice {
  delta?: ChunkDelta;
  logprobs?: { content?: unknown } | null;
  finish_reason?: unknown;
  native_finish_reason?: unknown;
  error?: unknown;
}

interface StreamChunk {
  id?: unknown;
  model?: unknown;
  choices?: ChunkChoice[];
  usage?: Record<string, unknown> | null;
  error?: unknown;
}

/** The state of one OpenAI-style chat stream (OpenRouter speaks this dialect). */
export class OpenAiChunkAccumulator implements FrameHandler {
  private readonly toolCalls = new Map<number, PendingToolCall>();
  private lastToolIndex = -1;
  private finishReason: FinishReason | undefined;
  private usage: Usage | undefined;
  private readonly textShape = new TextChunkShape();
  private readonly reasoningDetails = new ReasoningDetailsMerger();
  /** Set once a terminal event (finish or error) has been emitted. */
  ended = false;
  /** Still to be told who answers (the first chunk parsed says it). */
  private onOrigin: ((origin: AnswerOrigin) => void) | undefined;

  constructor(private readonly upstreamName: string, onOrigin?: (origin: AnswerOrigin) => void) {
    this.onOrigin = onOrigin;
  }

  /** Handles one SSE data payload; pushes resulting events into `batch`. */
  handleFrame(data: string, batch: ChatEvent[]): void {
    if (this.ended) return;
    const text = this.textShape.textOf(data);
    if (text !== undefined) {
      if (text !== '') appendDelta(batch, 'text-delta', text);
      return;
    }
    if (data === '[DONE]') {
      this.finish(batch);
      return;
    }
    let chunk: StreamChunk;
    try {
      chunk = JSON.parse(data) as StreamChunk;
    } catch {
      this.fail(batch, this.unreadableEvent());
      return;
    }
    // A number, string, null or array is no chunk: the stream is broken, not merely empty.
    if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
      this.fail(batch, this.unreadableEvent());
      return;
    }
    if (this.onOrigin !== undefined) this.tellOrigin(chunk);
    const choice = chunk.choices?.[0];
    const onlyText = choice === undefined ? undefined : this.handleChoice(choice, batch);
    if (chunk.usage) this.usage = usageFromOpenAi(chunk.usage);
    const error = openRouterErrorIn(chunk as Record<string, unknown>);
    if (error !== undefined) {
      this.fail(batch, error);
    } else if (onlyText !== undefined && !chunk.usage) {
      this.textShape.learn(data, onlyText);
    }
  }

  /** End of the byte stream: finish if the upstream said how it finished, otherwise fail. */
  end(batch: ChatEvent[]): void {
    if (this.ended) return;
    if (this.finishReason !== undefined) {
      this.finish(batch);
    } else {
      this.fail(batch, new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstreamName} ended the stream without finishing the answer`));
    }
  }

  fail(batch: ChatEvent[], error: GatewayError): void {
    if (this.ended) return;
    this.ended = true;
    batch.push({ type: 'error', error });
  }

  /** Every chunk names the generation and the model that answers: the first one parsed is told, once. */
  private tellOrigin(chunk: StreamChunk): void {
    const origin = originFromOpenAi(chunk);
    if (origin === undefined) return;
    const onOrigin = this.onOrigin!;
    this.onOrigin = undefined;
    onOrigin(origin);
  }

  private unreadableEvent(): GatewayError {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstreamName} sent an unreadable stream event`);
  }

  private finish(batch: ChatEvent[]): void {
    this.ended = true;
    this.pushDetails(batch, this.reasoningDetails.take());
    let reason = this.finishReason ?? 'stop';
    if (this.toolCalls.size > 0) {
      let index = 0;
      // In the upstream's index order, whichever call's first fragment arrived first.
      const slots = [...this.toolCalls.entries()].sort((left, right) => left[0] - right[0]);
      for (const [, call] of slots) {
        const complete: ToolCall = { id: call.id, name: call.name, arguments: call.arguments === '' ? '{}' : call.arguments };
        batch.push({ type: 'tool-call', call: complete, index: index++ });
      }
      if (reason === 'stop' || reason === 'other') reason = 'tool-calls';
    }
    batch.push(this.usage === undefined ? { type: 'finish', reason } : { type: 'finish', reason, usage: this.usage });
  }

  /**
   * Handles the choice; returns its text when text is all it carried (no reasoning, tool-call
   * fragment, finish reason or error): a chunk the text-chunk shape may learn from.
   */
  private handleChoice(choice: ChunkChoice, batch: ChatEvent[]): string | undefined {
    const delta = choice.delta;
    let onlyText: string | undefined;
    if (delta !== undefined && delta !== null) {
      const details = delta.reasoning_details;
      const hasDetails = Array.isArray(details) && details.length > 0;
      // A fragment of the next detail completes the one before: it goes out before the next one's text.
      if (hasDetails) this.pushDetails(batch, this.reasoningDetails.add(details as unknown[]));
      const reasoning = typeof delta.reasoning === 'string' ? delta.reasoning
        : typeof delta.reasoning_content === 'string' ? delta.reasoning_content
        : reasoningDetailsText(details);
      if (reasoning) appendDelta(batch, 'reasoning-delta', reasoning);
      const content = delta.content;
      const hasToolCalls = Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0;
      // The answer goes on: the reasoning before it is complete.
      if (hasToolCalls || (typeof content === 'string' && content !== '')) this.pushDetails(batch, this.reasoningDetails.take());
      if (typeof content === 'string' && content !== '') {
        appendDelta(batch, 'text-delta', content);
        if (!reasoning && !hasDetails) onlyText = content;
        if (choice.logprobs !== undefined && choice.logprobs !== null) {
          appendLogprobs(batch, choice.logprobs.content);
          onlyText = undefined;
        }
      }
      if (hasToolCalls) {
        this.handleToolCallFragments(delta.tool_calls as unknown[]);
        onlyText = undefined;
      }
    }
    const finishReason = choice.finish_reason;
    if (finishReason !== undefined && finishReason !== null) {
      onlyText = undefined;
      if (typeof finishReason === 'string' && finishReason !== 'error' && this.finishReason === undefined) {
        const mapped = finishReasonFromOpenAi(finishReason, choice.native_finish_reason);
        if (mapped !== 'error') this.finishReason = mapped;
      }
    }
    return choice.error === undefined || choice.error === null ? onlyText : undefined;
  }

  private pushDetails(batch: ChatEvent[], details: ReasoningDetail[] | undefined): void {
    if (details !== undefined) batch.push({ type: 'reasoning-details', details });
  }

  private handleToolCallFragments(fragments: unknown[]): void {
    for (const fragment of fragments) {
      if (typeof fragment !== 'object' || fragment === null) continue;
      const { index, id, function: fn } = fragment as { index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } };
      const fragmentId = typeof id === 'string' && id !== '' ? id : undefined;
      let slotIndex: number;
      if (typeof index === 'number') {
        slotIndex = index;
      } else if (fragmentId !== undefined && !this.hasCallId(fragmentId)) {
        slotIndex = this.toolCalls.size === 0 ? 0 : Math.max(...this.toolCalls.keys()) + 1;
      } else {
        slotIndex = this.lastToolIndex < 0 ? 0 : this.lastToolIndex;
      }
      this.lastToolIndex = slotIndex;
      let slot = this.toolCalls.get(slotIndex);
      if (slot === undefined) {
        slot = { id: fragmentId ?? createToolCallId(), name: '', arguments: '' };
        this.toolCalls.set(slotIndex, slot);
      }
      if (fn !== undefined && fn !== null) {
        if (typeof fn.name === 'string' && fn.name !== '' && slot.name === '') slot.name = fn.name;
        if (typeof fn.arguments === 'string') slot.arguments += fn.arguments;
        else if (typeof fn.arguments === 'object' && fn.arguments !== null) slot.arguments += JSON.stringify(fn.arguments);
      }
    }
  }

  private hasCallId(id: string): boolean {
    for (const call of this.toolCalls.values()) if (call.id === id) return true;
    return false;
  }
}

/** Reasoning text carried only in `reasoning_details` (no plain `reasoning` string). */
function reasoningDetailsText(details: unknown): string {
  if (!Array.isArray(details) || details.length === 0) return '';
  let text = '';
  for (const detail of details) {
    if (typeof detail !== 'object' || detail === null) continue;
    const { type, text: detailText, summary } = detail as { type?: unknown; text?: unknown; summary?: unknown };
    if (type === 'reasoning.text' && typeof detailText === 'string') text += detailText;
    else if (type === 'reasoning.summary' && typeof summary === 'string') text += summary;
  }
  return text;
}

/**
 * Decodes an OpenRouter SSE body. `isAborted` tells a client hang-up (stop quietly) from
 * a transport failure (an in-band error event).
 */
export function decodeOpenRouterStream(
  body: AsyncIterable<BodyPiece>,
  isAborted: () => boolean = () => false,
  /** Told, once, whether the answer was read to its end (the connection can be reused) or abandoned. */
  release?: (completed: boolean) => void,
  /** Told, once, the model and generation id the answer's first chunk names. */
  onOrigin?: (origin: AnswerOrigin) => void,
): DecodedStream {
  // SSE framing, then one JSON parse per event.
  return new DecodedStream(body, new FramedDecoder(new SseDecoder(), new OpenAiChunkAccumulator(OPENROUTER, onOrigin), OPENROUTER), isAborted, release);
}
