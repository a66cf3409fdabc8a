/**
 * Ollama's NDJSON stream → ChatEvent batches, one batch per network read. Pure: it only
 * consumes an iterable of bytes. Lines are split on bytes, each is JSON-parsed once and
 * narrowed with a few typeof checks (no schema per line), and consecutive text (or
 * thinking) within one read is merged.
 *
 * Rules (ollama-api.md §3):
 * - `message.thinking` → reasoning, `message.content` → text, from every line including the
 *   final `done:true` one (built-in parsers put the last piece of text there).
 * - `message.tool_calls` may come in a `done:false` line (the Go parser path) or all inside
 *   the final line (the llama-server path): both are read from any line, and each call is
 *   complete when it arrives, so it is emitted at once.
 * - Tool-call indexes are counted per response: several Ollama parsers send `index: 0` for
 *   every call, so `function.index` cannot tell parallel calls apart.
 * - `done_reason: "stop"` is what Ollama sends even after tool calls; the IR says
 *   `tool-calls` then. `length` stays `length` (a truncated call is worth knowing about).
 * - A `{"error": "..."}` line ends the stream with an `error` event (Ollama sends no `done`
 *   after it), and so does an end of stream without `done:true`.
 * - `/api/generate` lines (`response`, top-level `thinking` and `tool_calls`) decode the
 *   same way, so a raw generate passthrough can reuse this decoder.
 */
import { GatewayError, fromStreamErrorValue } from '../../errors.js';
import type { BodyPiece } from '../../core/body-piece.js';
import { DecodedStream, appendDelta } from '../../streaming/decode-stream.js';
import { appendLogprobs } from '../../core/logprobs.js';
import { LineSplitter } from '../../streaming/line-splitter.js';
import { FramedDecoder, type FrameHandler } from '../../streaming/framed-decoder.js';
import { createToolCallId } from '../../core/ids.js';
import type { AnswerOrigin, ChatEvent, FinishReason } from '../../core/types.js';
import { usageFromOllama } from '../../core/ollama-answer.js';

const UPSTREAM = 'Ollama';

/**
 * Ollama answers a failed non-stream call with HTTP 500 and the same message it would have
 * written as an in-band error line; collected answers get that status too, so a client
 * cannot tell the gateway's collected answer from Ollama's own.
 */
const MID_STREAM_ERROR_STATUS = 500;

interface OllamaMessageFields {
  content?: unknown;
  thinking?: unknown;
  tool_calls?: unknown;
}

/** One line of `/api/chat` (`message`) or `/api/generate` (`response`, top-level fields). */
interface OllamaStreamLine extends Omit<OllamaMessageFields, 'content'> {
  model?: unknown;
  message?: OllamaMessageFields | null;
  response?: unknown;
  done?: unknown;
  done_reason?: unknown;
  prompt_eval_count?: unknown;
  eval_count?: unknown;
  error?: unknown;
  logprobs?: unknown;
}

interface OllamaToolCallFields {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown } | null;
}

/** The state of one Ollama chat (or generate) stream. */
export class OllamaLineAccumulator implements FrameHandler {
  private toolCallCount = 0;
  /** Upstream ids already emitted: a call repeated in the final line is not emitted twice. */
  private readonly emittedIds = new Set<string>();
  /** Set once a terminal event (finish or error) has been emitted. */
  ended = false;

  /** `onOrigin` is told, once, the model the answer's first line names. */
  constructor(private onOrigin?: (origin: AnswerOrigin) => void) {}

  /**
   * Handles one NDJSON line; pushes resulting events into `batch`. `unterminated` marks the
   * bytes after the last newline at end of stream: if they do not parse, the stream was cut.
   */
  handleFrame(line: string, batch: ChatEvent[], unterminated = false): void {
    if (this.ended) return;
    // Ollama sends no blank lines, but a proxy in between may add one; it carries nothing.
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.fail(batch, unterminated ? unfinishedStream() : unreadableLine());
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.fail(batch, unreadableLine());
      return;
    }
    const chunk = parsed as OllamaStreamLine;
    if (this.onOrigin !== undefined && typeof chunk.model === 'string') {
      this.onOrigin({ modelServed: chunk.model });
      this.onOrigin = undefined;
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      this.fail(batch, fromStreamErrorValue(UPSTREAM, chunk.error, MID_STREAM_ERROR_STATUS));
      return;
    }
    const message = chunk.message;
    if (typeof message === 'object' && message !== null) this.handleFields(message.thinking, message.content, message.tool_calls, batch);
    // The /api/generate shape; a chat line has none of these fields.
    this.handleFields(chunk.thinking, chunk.response, chunk.tool_calls, batch);
    // The line's tokens' log probabilities (asked with `logprobs`) belong to its text, when it has some.
    if (chunk.logprobs !== undefined && chunk.logprobs !== null) {
      const text = typeof message === 'object' && message !== null ? message.content : chunk.response;
      if (typeof text === 'string' && text !== '') appendLogprobs(batch, chunk.logprobs);
    }
    if (chunk.done === true) this.finish(chunk, batch);
  }

  /** End of the byte stream without a `done:true` line: the answer is incomplete. */
  end(batch: ChatEvent[]): void {
    this.fail(batch, unfinishedStream());
  }

  fail(batch: ChatEvent[], error: GatewayError): void {
    if (this.ended) return;
    this.ended = true;
    batch.push({ type: 'error', error });
  }

  private handleFields(thinking: unknown, content: unknown, toolCalls: unknown, batch: ChatEvent[]): void {
    // Thinking first: within one line it precedes the answer it led to.
    if (typeof thinking === 'string' && thinking !== '') appendDelta(batch, 'reasoning-delta', thinking);
    if (typeof content === 'string' && content !== '') appendDelta(batch, 'text-delta', content);
    if (Array.isArray(toolCalls)) this.handleToolCalls(toolCalls, batch);
  }

  private handleToolCalls(calls: unknown[], batch: ChatEvent[]): void {
    for (const call of calls) {
      if (typeof call !== 'object' || call === null) continue;
      const { id, function: fn } = call as OllamaToolCallFields;
      if (typeof fn !== 'object' || fn === null) continue;
      const upstreamId = typeof id === 'string' && id !== '' ? id : undefined;
      if (upstreamId !== undefined) {
        if (this.emittedIds.has(upstreamId)) continue;
        this.emittedIds.add(upstreamId);
      }
      batch.push({
        type: 'tool-call',
        call: { id: upstreamId ?? createToolCallId(), name: typeof fn.name === 'string' ? fn.name : '', arguments: argumentsText(fn.arguments) },
        index: this.toolCallCount++,
      });
    }
  }

  private finish(chunk: OllamaStreamLine, batch: ChatEvent[]): void {
    this.ended = true;
    // `load` and `unload` (an empty conversation) and anything new are a normal stop.
    const reason: FinishReason = chunk.done_reason === 'length' ? 'length' : this.toolCallCount > 0 ? 'tool-calls' : 'stop';
    const usage = usageFromOllama(chunk);
    batch.push(usage === undefined ? { type: 'finish', reason } : { type: 'finish', reason, usage });
  }
}

/** Ollama sends an arguments object; a string (some proxies) is kept as the JSON text it is. */
function argumentsText(value: unknown): string {
  if (typeof value === 'string') return value.trim() === '' ? '{}' : value;
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return '{}';
}

function unfinishedStream(): GatewayError {
  return new GatewayError('UPSTREAM_BAD_RESPONSE', `${UPSTREAM} ended the stream without finishing the answer`);
}

function unreadableLine(): GatewayError {
  return new GatewayError('UPSTREAM_BAD_RESPONSE', `${UPSTREAM} sent an unreadable stream line`);
}

/**
 * Decodes an Ollama `/api/chat` (or `/api/generate`) NDJSON body. `isAborted` tells a client
 * hang-up (stop quietly) from a transport failure (an in-band error event).
 */
export function decodeOllamaStream(
  body: AsyncIterable<BodyPiece>,
  isAborted: () => boolean = () => false,
  /** Told, once, whether the answer was read to its end (the connection can be reused) or abandoned. */
  release?: (completed: boolean) => void,
  /** Told, once, the model the answer's first line names. */
  onOrigin?: (origin: AnswerOrigin) => void,
): DecodedStream {
  // NDJSON: one JSON parse per line.
  return new DecodedStream(body, new FramedDecoder(new LineSplitter(), new OllamaLineAccumulator(onOrigin), UPSTREAM), isAborted, release);
}
