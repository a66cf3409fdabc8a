/**
 * Same-dialect passthrough: an OpenAI chat request to an upstream that already speaks
 * OpenAI (OpenRouter): the answer's relay (the body sent is built in passthrough-body.ts).
 * Pure, apart from consuming the byte iterable it is given.
 *
 * The upstream's bytes are forwarded unchanged wherever nothing needs translating. Complete
 * lines are inspected with byte searches only; a line is decoded and parsed only when a
 * search says it may be one of the few that matter:
 * - `data: [DONE]`: forwarded, and the relay ends (whatever follows is dropped);
 * - an error event (`"error"` key, or `finish_reason:"error"`): answered with a status when
 *   no data event has been forwarded yet, else rewritten into OpenAI's in-band error event,
 *   and the relay ends (never a clean `[DONE]` after a failure);
 * - a data line whose payload is not `{…}` or `[DONE]` (see `payloadKind`; every data line is
 *   checked, on the hot path by its first and last bytes): treated like an error event, as an
 *   unreadable event (502 before the start);
 * - a chunk whose `reasoning` is a string: `"reasoning_content"` with the same JSON string is
 *   spliced in right after it, so clients of either convention see the reasoning; the rest of
 *   the line stays byte-identical. (Upstreams that pretty-print their JSON are not rewritten.)
 * - the upstream's model id (`"model":"openai/gpt-4o-2024-08-06"`): replaced by the name the
 *   client asked for in everything forwarded, by byte search and splice (model-echo.ts).
 * An upstream that ends (EOF, reset, timeout) without `[DONE]` gets an in-band error event.
 */
import type { AnswerOrigin, FinishReason, Usage } from '../../core/types.js';
import { finishReasonFromOpenAi, originFromOpenAi, usageFromOpenAi } from '../../core/openai-answer.js';
import { countSseEvents } from '../../usage/request-usage.js';
import { firstStringField, lastStringField } from '../json-field.js';
import { GatewayError, fromMidStreamError, fromUpstreamStatus, statusFromUpstreamCode } from '../../errors.js';
import { joinPiece, type BodyPiece } from '../../core/body-piece.js';
import { DEFAULT_MAX_LINE_BYTES, PendingLine } from '../../streaming/line-scanner.js';
import { openAiErrorEvent } from './encode.js';
import { ModelEcho } from './model-echo.js';

type JsonObject = Record<string, unknown>;

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const COLON = 0x3a;
const DONE = Buffer.from('[DONE]');
const REASONING_KEY = Buffer.from('"reasoning":"');
// Hot-path probes. Each starts with a byte that is rare in chat chunks, which makes the native
// search several times faster than with a leading quote. A false positive only means a
// closer look at the lines; a miss is impossible for compact JSON (`g":"` is the end of
// `"reasoning":"`, `rror"` the end of the `"error"` key and of the `"error"` finish reason).
const DONE_PROBE = Buffer.from('DONE]');
const ERROR_PROBE = Buffer.from('rror"');
const REASONING_PROBE = Buffer.from('g":"');
const REASONING_CONTENT_KEY = Buffer.from('"reasoning_content"');
const REASONING_CONTENT_FIELD = Buffer.from(',"reasoning_content":');
const DATA_PREFIX = Buffer.from('data:');
const USAGE_KEY = Buffer.from('"usage"');
/** A usage-only chunk (`"choices":[]`); OpenAI sends one only when the client asked for it. */
const EMPTY_CHOICES = Buffer.from('"choices":[]');
const BLANK_LINE = Buffer.from('\n\n');
const LINE_FEED_BYTES = Buffer.from('\n');
const CRLF_CRLF_TAIL = Buffer.from('\n\r\n');
const EMPTY = Buffer.alloc(0);
const ID_FIELD = Buffer.from('"id":"');
const MODEL_FIELD = Buffer.from('"model":"');
const FINISH_REASON_FIELD = Buffer.from('"finish_reason":"');
const NATIVE_FINISH_REASON_FIELD = Buffer.from('"native_finish_reason":"');

/**
 * What the relay tells about the answer it relays, each when it knows it (a RequestUsage
 * takes it all): read from the few lines it inspects anyway, or once per answer.
 */
export interface RelayMeter {
  /** The usage the upstream reported (at `[DONE]`). */
  report?(usage: Usage): void;
  /** Who answers (the first data event's `model` and `id`, before the model echo). */
  answeredBy?(origin: AnswerOrigin): void;
  /** How the answer finished (at `[DONE]`, from the finish chunk). */
  finished?(reason: FinishReason): void;
  /** The answer failed in band with this error code. */
  failed?(code: string): void;
  /** The first piece of the answer goes to the client. */
  answerStarted?(): void;
  /** Answer pieces relayed (SSE events, about a token each, for the estimate). */
  addOutputPieces?(count: number): void;
}

/** The error an OpenAI-dialect error payload (`{error:{code,message,metadata}}`) stands for. */
export function errorFromPayload(upstream: string, payload: JsonObject, text: string): GatewayError | undefined {
  if (payload.error !== undefined && payload.error !== null && payload.error !== false) {
    const code = (payload.error as { code?: unknown }).code;
    return fromUpstreamStatus(upstream, statusFromUpstreamCode(code, 502), text);
  }
  const choice = Array.isArray(payload.choices) ? (payload.choices[0] as JsonObject | undefined) : undefined;
  if (choice !== undefined && choice !== null && (choice.finish_reason === 'error' || (choice.error !== undefined && choice.error !== null))) {
    const error = (choice.error ?? { message: `${upstream} stopped the answer with an error` }) as JsonObject;
    return fromUpstreamStatus(upstream, statusFromUpstreamCode(error.code, 502), JSON.stringify({ error }));
  }
  return undefined;
}

/**
 * A non-stream answer: leading keep-alive whitespace removed, a 200 that carries an error is
 * thrown as that error (its code becomes the status), reasoning mirrored into
 * `reasoning_content`, `model` made the client's name (`echoModel`). Otherwise the text is
 * returned as the upstream sent it. `meter` is told its usage, origin and finish reason.
 */
export function relayJson(upstream: string, text: string, meter?: RelayMeter, echoModel?: string): string {
  const trimmed = text.trimStart();
  let payload: unknown;
  try {
    payload = JSON.parse(trimmed);
  } catch (error) {
    throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstream} sent a response that is not JSON`, { cause: error });
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstream} sent a response that is not a JSON object`);
  }
  const error = errorFromPayload(upstream, payload as JsonObject, trimmed);
  if (error !== undefined) throw error;
  if (meter !== undefined) meterJson(payload as JsonObject, meter);
  const model = (payload as JsonObject).model;
  let bytes: Buffer = Buffer.from(trimmed);
  if (echoModel !== undefined && typeof model === 'string' && model !== echoModel) {
    const echoed = new ModelEcho(echoModel).apply(bytes);
    // The same bytes: not compact JSON (no `"model":"`), so serialised again, keys in the same order.
    bytes = echoed !== bytes ? echoed : Buffer.from(JSON.stringify({ ...(payload as JsonObject), model: echoModel }));
  }
  return withReasoningContent(bytes, 0, bytes.length).toString('utf8');
}

/** What a non-stream answer tells the meter: its usage, who answered, how it finished; and that it goes out now. */
function meterJson(payload: JsonObject, meter: RelayMeter): void {
  const usage = payload.usage;
  if (typeof usage === 'object' && usage !== null) meter.report?.(usageFromOpenAi(usage as JsonObject));
  const origin = originFromOpenAi(payload);
  if (origin !== undefined) meter.answeredBy?.(origin);
  const choice = Array.isArray(payload.choices) ? (payload.choices[0] as JsonObject | undefined) : undefined;
  if (typeof choice?.finish_reason === 'string') {
    const reason = finishReasonFromOpenAi(choice.finish_reason, choice.native_finish_reason);
    if (reason !== 'error') meter.finished?.(reason);
  }
  meter.answerStarted?.();
}

/**
 * Every `"reasoning":"…"` in `bytes[start, end)` followed by `,"reasoning_content":"…"` (the
 * same JSON string, byte for byte), unless the text already has `reasoning_content`. Scans
 * bytes: in UTF-8, `"` and `\` never occur inside multi-byte characters.
 */
export function withReasoningContent(bytes: Buffer, start: number, end: number): Buffer {
  const line = bytes.subarray(start, end);
  let found = line.indexOf(REASONING_KEY);
  if (found === -1 || line.indexOf(REASONING_CONTENT_KEY) !== -1) return line;
  const parts: Buffer[] = [];
  let copied = 0;
  while (found !== -1) {
    const valueStart = found + REASONING_KEY.length - 1;
    const valueEnd = endOfJsonString(line, valueStart);
    if (valueEnd === -1) break;
    parts.push(line.subarray(copied, valueEnd + 1), REASONING_CONTENT_FIELD, line.subarray(valueStart, valueEnd + 1));
    copied = valueEnd + 1;
    found = line.indexOf(REASONING_KEY, copied);
  }
  if (parts.length === 0) return line;
  parts.push(line.subarray(copied));
  return Buffer.concat(parts);
}

/** Index of the quote closing the JSON string whose opening quote is at `open`; -1 if none. */
function endOfJsonString(bytes: Buffer, open: number): number {
  for (let index = open + 1; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === 0x5c /* \ */) index++;
    else if (byte === 0x22 /* " */) return index;
  }
  return -1;
}

/**
 * The streaming relay. `push` takes one network read and returns what to forward for it
 * (one Buffer; empty when nothing is complete yet); `end` is called at EOF; `fail` turns a
 * transport failure into the in-band error event.
 */
export class SseRelay {
  /** A data event has been seen that is not an error: the answer has started. */
  started = false;
  /** `[DONE]` or an error was relayed (or an error arrived before the start): stop reading. */
  ended = false;
  /** The answer ended with `data: [DONE]` (nothing more to read from this response). */
  sawDone = false;
  /** Set when the upstream failed before the answer started: answer with its status. */
  errorBeforeStart: GatewayError | undefined;
  /** The unterminated line at the end of the reads so far. */
  private readonly pending: PendingLine;
  /** Puts the client's model name in what is forwarded; undefined: forwarded as is. */
  private readonly echo: ModelEcho | undefined;
  /** The previous read ended in CR: a LF at the start of the next read belongs to it. */
  private skipLeadingLineFeed = false;
  /** The last line forwarded was blank (or nothing was forwarded): an event can start here. */
  private atEventBoundary = true;

  /** The last read with more than blank lines: where the usage event may sit when `[DONE]` comes. */
  private previousRegion: Buffer | undefined;
  /** The read with more than blank lines before that one: where the finish chunk may sit. */
  private earlierRegion: Buffer | undefined;
  /** Still to tell the meter who answers (from the first data event). */
  private originUntold: boolean;

  constructor(
    private readonly upstream: string,
    /** Told the usage, who answered and how it finished (per-key token accounting, the usage record). */
    private readonly meter?: RelayMeter,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
    /**
     * OpenRouter always sends a usage-only chunk (`choices: []`); OpenAI sends it only with
     * `stream_options.include_usage`, and clients that index `choices[0]` break on it. When
     * set, such chunks are dropped (the accounting still reads them).
     */
    private readonly dropUsageOnlyChunks = false,
    /** The model name the client asked for, put in place of the upstream's (model-echo.ts). */
    echoModel?: string,
  ) {
    this.pending = new PendingLine(maxLineBytes);
    this.echo = echoModel === undefined ? undefined : new ModelEcho(echoModel);
    this.originUntold = meter?.answeredBy !== undefined;
  }

  push(chunk: Uint8Array): Buffer {
    if (this.ended) return EMPTY;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Only the new bytes are searched: a line spanning many reads is held in pieces and
    // joined once, with the lines this read completes (linear in the line's length).
    const cut = buffer[buffer.length - 1] === LINE_FEED
      ? buffer.length
      : Math.max(buffer.lastIndexOf(LINE_FEED), buffer.lastIndexOf(CARRIAGE_RETURN)) + 1;
    if (cut === 0) {
      this.pending.add(buffer);
      return EMPTY;
    }
    let region = cut === buffer.length ? buffer : buffer.subarray(0, cut);
    if (!this.pending.empty) region = this.pending.take(region);
    if (cut < buffer.length) this.pending.add(buffer.subarray(cut));
    if (this.originUntold) this.tellOrigin(region);
    // Complete lines from here on, with the model named as the client named it (rewritten in
    // place when it can be: `region` is the only reference to these bytes the relay keeps).
    if (this.echo !== undefined) region = this.echo.apply(region);
    if (
      this.started &&
      region.indexOf(DONE_PROBE) === -1 &&
      region.indexOf(ERROR_PROBE) === -1 &&
      region.indexOf(REASONING_PROBE) === -1 &&
      !(this.dropUsageOnlyChunks && region.indexOf(EMPTY_CHOICES) !== -1) &&
      dataLinesLookWhole(region)
    ) {
      // The hot path: nothing in these lines needs a look.
      this.noteEnding(region);
      this.skipLeadingLineFeed = region[region.length - 1] === CARRIAGE_RETURN;
      this.remember(region);
      return region;
    }
    const output = this.relayLines(region);
    this.remember(region);
    return output;
  }

  /** Keeps the last two reads with more than blank lines (by reference), for what `[DONE]` looks back at. */
  private remember(region: Buffer): void {
    if (isOnlyTerminators(region)) return;
    this.earlierRegion = this.previousRegion;
    this.previousRegion = region;
  }

  /** The first data event's `model` and `id` (every OpenRouter event has them), read once, before the echo rewrites `model`. */
  private tellOrigin(region: Buffer): void {
    let at = region.indexOf(DATA_PREFIX);
    while (at > 0 && region[at - 1] !== LINE_FEED && region[at - 1] !== CARRIAGE_RETURN) at = region.indexOf(DATA_PREFIX, at + 1);
    if (at === -1) return;
    this.originUntold = false;
    const lineEnd = region.indexOf(LINE_FEED, at);
    const end = lineEnd === -1 ? region.length : lineEnd;
    const origin: AnswerOrigin = {};
    const model = firstStringField(region, MODEL_FIELD, at, end);
    const id = firstStringField(region, ID_FIELD, at, end);
    if (model !== undefined && model !== '') origin.modelServed = model;
    if (id !== undefined && id !== '') origin.generationId = id;
    if (origin.modelServed !== undefined || origin.generationId !== undefined) this.meter!.answeredBy!(origin);
  }

  /** EOF: a last line without terminator is still read; without `[DONE]`, an error event. */
  end(): Buffer {
    if (this.ended) return EMPTY;
    const parts: Buffer[] = [];
    const tail = this.pending.empty ? undefined : this.pending.take();
    if (tail !== undefined && isCompleteDataLine(tail)) {
      const lines = Buffer.concat([tail, BLANK_LINE]);
      const last = this.relayLines(this.echo === undefined ? lines : this.echo.apply(lines));
      if (last.length > 0) parts.push(last);
    }
    if (!this.ended) {
      if (!this.started) {
        this.ended = true;
        this.errorBeforeStart = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream} ended the stream without answering`);
      } else {
        parts.push(this.fail(new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream} ended the stream without finishing the answer`)));
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The in-band error event (on an event boundary), after which nothing more is relayed. */
  fail(error: GatewayError): Buffer {
    this.ended = true;
    this.meter?.failed?.(error.code);
    const event = openAiErrorEvent(error);
    return Buffer.from(this.atEventBoundary ? event : `\n${event}`);
  }

  /** Line by line: forwards unchanged runs as slices, rewrites or stops where needed. */
  private relayLines(region: Buffer): Buffer {
    const parts: Buffer[] = [];
    let runStart = 0;
    let lineStart = 0;
    if (this.skipLeadingLineFeed && region[0] === LINE_FEED) lineStart = 1;
    this.skipLeadingLineFeed = false;
    while (lineStart < region.length) {
      const { lineEnd, next } = lineBounds(region, lineStart);
      if (next > region.length) this.skipLeadingLineFeed = true;
      const nextStart = Math.min(next, region.length);
      const blank = lineEnd === lineStart;
      if (!blank && region[lineStart] !== COLON && startsWith(region, lineStart, DATA_PREFIX)) {
        const outcome = this.inspectData(region, lineStart, lineEnd);
        if (outcome !== undefined) {
          if (outcome.stop) {
            if (outcome.keepLine) {
              this.reportUsage(region, lineStart);
              this.reportFinish(region, lineStart);
              parts.push(...this.doneEvent(region, runStart, lineEnd, next));
            } else {
              parts.push(region.subarray(runStart, lineStart));
            }
            if (outcome.replacement !== undefined) parts.push(outcome.replacement);
            return concatParts(parts);
          }
          // A rewritten line: flush the run before it, then the new line with its terminator.
          parts.push(region.subarray(runStart, lineStart), outcome.replacement!, region.subarray(lineEnd, nextStart));
          runStart = nextStart;
        }
      }
      this.atEventBoundary = blank;
      lineStart = nextStart;
    }
    parts.push(region.subarray(runStart));
    return concatParts(parts);
  }

  /**
   * At `[DONE]`: the usage is in the last data event before it (OpenRouter always sends one),
   * in this read or the previous one. Only that line is parsed.
   */
  private reportUsage(region: Buffer, doneLineStart: number): void {
    if (this.meter?.report === undefined) return;
    const line = lastDataLine(region, doneLineStart) ?? (this.previousRegion === undefined ? undefined : lastDataLine(this.previousRegion, this.previousRegion.length));
    if (line === undefined || line.indexOf(USAGE_KEY) === -1) return;
    let parsed: { usage?: unknown };
    try {
      parsed = JSON.parse(line.subarray(DATA_PREFIX.length).toString('utf8')) as { usage?: unknown };
    } catch {
      return;
    }
    const usage = parsed?.usage;
    if (typeof usage === 'object' && usage !== null) this.meter.report(usageFromOpenAi(usage as JsonObject));
  }

  /**
   * At `[DONE]`: how the answer finished, from the last `finish_reason` string before it (the
   * finish chunk, in this read or one of the two before). Byte searches only, once per answer.
   */
  private reportFinish(region: Buffer, doneLineStart: number): void {
    if (this.meter?.finished === undefined) return;
    const reads: Array<[Buffer | undefined, number | undefined]> = [[region, doneLineStart], [this.previousRegion, undefined], [this.earlierRegion, undefined]];
    for (const [bytes, end] of reads) {
      const reason = bytes === undefined ? undefined : lastStringField(bytes, FINISH_REASON_FIELD, end);
      if (reason === undefined) continue;
      const mapped = finishReasonFromOpenAi(reason, lastStringField(bytes!, NATIVE_FINISH_REASON_FIELD, end));
      if (mapped !== 'error') this.meter.finished(mapped);
      return;
    }
  }

  /**
   * The `[DONE]` line and the blank line that dispatches it: the upstream's own when this
   * read has it, else the same terminator again (the rest of the upstream's bytes are never
   * read). A CR that ends the read is completed with its LF.
   */
  private doneEvent(region: Buffer, runStart: number, lineEnd: number, next: number): Buffer[] {
    if (next > region.length) return [region.subarray(runStart), CRLF_CRLF_TAIL];
    const terminator = region.subarray(lineEnd, next);
    if (next === region.length) return [region.subarray(runStart), terminator];
    const blank = lineBounds(region, next);
    if (blank.lineEnd !== next) return [region.subarray(runStart, next), terminator];
    if (blank.next > region.length) return [region.subarray(runStart), LINE_FEED_BYTES];
    return [region.subarray(runStart, blank.next)];
  }

  /**
   * One `data:` line. Undefined: forward as is. `stop`: the relay ends here (`keepLine`
   * forwards this line first; `replacement` is appended). Otherwise `replacement` replaces it.
   */
  private inspectData(region: Buffer, lineStart: number, lineEnd: number): { stop: boolean; keepLine?: boolean; replacement?: Buffer } | undefined {
    let payloadStart = lineStart + DATA_PREFIX.length;
    if (region[payloadStart] === 0x20) payloadStart++;
    const payload = region.subarray(payloadStart, lineEnd);
    const kind = payloadKind(payload);
    if (kind === 'done') {
      this.ended = true;
      this.sawDone = true;
      if (!this.started) {
        this.errorBeforeStart = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream} ended the stream without answering`);
        return { stop: true, keepLine: false };
      }
      return { stop: true, keepLine: true };
    }
    if (kind === 'unreadable') return this.stopWith(this.unreadableEvent());
    if (payload.indexOf(ERROR_PROBE) !== -1) {
      const error = this.errorIn(payload);
      if (error !== undefined) return this.stopWith(error);
    }
    // Dropped as an empty line: with its blank line it dispatches nothing (SSE ignores it).
    if (this.started && this.dropUsageOnlyChunks && payload.indexOf(EMPTY_CHOICES) !== -1) return { stop: false, replacement: EMPTY };
    this.started = true;
    const rewritten = withReasoningContent(region, lineStart, lineEnd);
    return rewritten.length === lineEnd - lineStart ? undefined : { stop: false, replacement: rewritten };
  }

  /** The relay ends with `error`: a status before the answer started, else in band. */
  private stopWith(error: GatewayError): { stop: true; keepLine: false; replacement?: Buffer } {
    if (!this.started) {
      this.ended = true;
      this.errorBeforeStart = error;
      return { stop: true, keepLine: false };
    }
    return { stop: true, keepLine: false, replacement: this.fail(error) };
  }

  /** The error an event stands for; a payload that does not parse is an unreadable event. */
  private errorIn(payload: Buffer): GatewayError | undefined {
    const text = payload.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.unreadableEvent();
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.unreadableEvent();
    return errorFromPayload(this.upstream, parsed as JsonObject, text);
  }

  private unreadableEvent(): GatewayError {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream} sent an unreadable stream event`);
  }

  /** Remembers whether `region` (complete lines) ends with a blank line. */
  private noteEnding(region: Buffer): void {
    let end = region.length - 1;
    if (region[end] === LINE_FEED && end > 0 && region[end - 1] === CARRIAGE_RETURN) {
      end--;
    } else if (end === 0 && this.skipLeadingLineFeed && region[0] === LINE_FEED) {
      return; // only the LF of a CRLF cut between two reads
    }
    // A terminator at the very start ends a blank line (the previous read ended a line).
    const before = end === 0 ? LINE_FEED : region[end - 1];
    this.atEventBoundary = before === LINE_FEED || before === CARRIAGE_RETURN;
  }
}

/** Where the line starting at `start` ends, and where the next one starts (past CR, LF or CRLF). */
function lineBounds(region: Buffer, start: number): { lineEnd: number; next: number } {
  for (let index = start; index < region.length; index++) {
    const byte = region[index];
    if (byte === LINE_FEED) return { lineEnd: index, next: index + 1 };
    if (byte === CARRIAGE_RETURN) {
      if (index + 1 < region.length) return { lineEnd: index, next: region[index + 1] === LINE_FEED ? index + 2 : index + 1 };
      // A CR that ends the region: its LF, if any, opens the next read.
      return { lineEnd: index, next: index + 2 };
    }
  }
  return { lineEnd: region.length, next: region.length };
}

const SPACE = 0x20;
const TAB = 0x09;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * The cheap check of the hot path, over complete lines ending in LF: every line that starts
 * with `d` (a `data:` line) has `{` right after `data:` or `data: `, and `}` right before its
 * LF or CRLF. One native LF search and a few byte reads per event, no decoding (figures in
 * bench/README.md). False sends
 * the read to `relayLines`, which checks each data line exactly (`payloadKind`) and ends the
 * relay at an unreadable one. A read that does not end in LF (lone-CR framing, a CRLF cut
 * between reads) always goes there.
 */
function dataLinesLookWhole(region: Buffer): boolean {
  if (region[region.length - 1] !== LINE_FEED) return false;
  let start = 0;
  while (start < region.length) {
    const end = region.indexOf(LINE_FEED, start);
    if (region[start] === 0x64 /* d */) {
      const open = region[start + 5] === SPACE ? start + 6 : start + 5;
      const close = region[end - 1] === CARRIAGE_RETURN ? end - 2 : end - 1;
      if (open >= close || region[open] !== OPEN_BRACE || region[close] !== CLOSE_BRACE) return false;
    }
    start = end + 1;
    // The blank line that ends an event is stepped over without another search.
    if (region[start] === LINE_FEED) start++;
    else if (region[start] === CARRIAGE_RETURN && region[start + 1] === LINE_FEED) start += 2;
  }
  return true;
}

/**
 * What a data payload is, without parsing it: `[DONE]`, or a JSON object as far as its
 * first and last bytes tell (`{` … `}` after trimming spaces and tabs), or unreadable.
 * Catches what breaks in practice: a payload cut short (a truncated or interleaved write,
 * a proxy's line limit), an HTML or plain-text error page, an empty `data:`, a bare
 * number, string, `null` or array. Does not catch a payload that starts with `{` and ends
 * with `}` but is invalid inside (`{"a":}`, `{"a":{"b":1}` cut after an inner brace), nor
 * invalid UTF-8: those are relayed as they are. A full JSON.parse per chunk would catch
 * them at about the cost of the whole relay; the translating paths do parse every event.
 * Each event is one line here (OpenRouter's framing): a JSON object split over several
 * `data:` lines counts as unreadable.
 */
function payloadKind(payload: Buffer): 'done' | 'object' | 'unreadable' {
  let start = 0;
  let end = payload.length;
  while (start < end && (payload[start] === SPACE || payload[start] === TAB)) start++;
  while (end > start && (payload[end - 1] === SPACE || payload[end - 1] === TAB)) end--;
  if (end - start === DONE.length && payload.subarray(start, end).equals(DONE)) return 'done';
  return end - start >= 2 && payload[start] === OPEN_BRACE && payload[end - 1] === CLOSE_BRACE ? 'object' : 'unreadable';
}

/** A read that only ends lines (the blank line after an event, cut off on its own). */
function isOnlyTerminators(region: Buffer): boolean {
  if (region.length > 4) return false;
  for (const byte of region) if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN) return false;
  return true;
}

/** The last `data:` line that starts before `end` (without its terminator), if any. */
function lastDataLine(region: Buffer, end: number): Buffer | undefined {
  let found = end - 1;
  while (found >= 0) {
    found = region.lastIndexOf(DATA_PREFIX, found);
    if (found === -1) return undefined;
    const before = region[found - 1];
    if (found === 0 || before === LINE_FEED || before === CARRIAGE_RETURN) {
      let lineEnd = found;
      while (lineEnd < region.length && region[lineEnd] !== LINE_FEED && region[lineEnd] !== CARRIAGE_RETURN) lineEnd++;
      return region.subarray(found, lineEnd);
    }
    found--;
  }
  return undefined;
}

function startsWith(buffer: Buffer, offset: number, prefix: Buffer): boolean {
  if (buffer.length - offset < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (buffer[offset + index] !== prefix[index]) return false;
  return true;
}

function concatParts(parts: Buffer[]): Buffer {
  const nonEmpty = parts.filter((part) => part.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  return nonEmpty.length === 1 ? nonEmpty[0]! : Buffer.concat(nonEmpty);
}

/** The unterminated last line at EOF is worth relaying only if it is a whole data event. */
function isCompleteDataLine(line: Buffer): boolean {
  if (!startsWith(line, 0, DATA_PREFIX)) return false;
  const payload = line.subarray(DATA_PREFIX.length).toString('utf8').trim();
  if (payload === '[DONE]') return true;
  try {
    JSON.parse(payload);
    return true;
  } catch {
    return false;
  }
}

/** What the adapter hands back: the raw 2xx body of an OpenAI-dialect upstream (see UpstreamBody). */
export interface RelayedBody extends AsyncIterable<BodyPiece> {
  /** completed: `[DONE]` was read (the rest is drained, the connection reused); else the request is aborted. */
  release(completed: boolean): void;
}

export interface SseRelayOptions {
  /** Told the usage, who answered, how it finished or failed, and each piece relayed (the estimate, should the answer be cut off before its usage). */
  meter?: RelayMeter;
  /** false: the usage-only chunk is dropped (the client did not ask for it). Default true. */
  includeUsage?: boolean;
  /** The model name the client asked for, echoed in place of the upstream's. */
  echoModel?: string;
}

/**
 * Reads the stream until the answer has started, so that a failure before the first data
 * event (an error event, an empty stream, a refused connection) is thrown as a GatewayError
 * and answered with a status. Resolves with the byte stream to send, which yields what was
 * held back first and then one Buffer per network read.
 */
export async function startSseRelay(
  body: RelayedBody,
  upstream: string,
  isAborted: () => boolean,
  options: SseRelayOptions = {},
): Promise<AsyncGenerator<Buffer>> {
  const { meter, includeUsage = true, echoModel } = options;
  const relay = new SseRelay(upstream, meter, DEFAULT_MAX_LINE_BYTES, !includeUsage, echoModel);
  const iterator = body[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  try {
    while (!relay.started && !relay.ended) {
      let next: IteratorResult<BodyPiece>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw isAborted() ? new GatewayError('CLIENT_CLOSED', 'the client closed the connection') : fromMidStreamError(upstream, error);
      }
      const output = next.done ? relay.end() : relay.push(joinPiece(next.value));
      if (output.length > 0) held.push(output);
      if (next.done) break;
    }
    if (relay.errorBeforeStart !== undefined) throw relay.errorBeforeStart;
  } catch (error) {
    body.release(false);
    throw error instanceof GatewayError ? error : fromMidStreamError(upstream, error);
  }
  return relayRest(held.length === 1 ? held[0]! : Buffer.concat(held), iterator, relay, body, upstream, isAborted, meter);
}

async function* relayRest(
  head: Buffer,
  iterator: AsyncIterator<BodyPiece>,
  relay: SseRelay,
  body: RelayedBody,
  upstream: string,
  isAborted: () => boolean,
  meter?: RelayMeter,
): AsyncGenerator<Buffer> {
  const onRelayed = meter?.addOutputPieces === undefined ? undefined : (output: Buffer): void => meter.addOutputPieces!(countSseEvents(output));
  try {
    meter?.answerStarted?.();
    if (head.length > 0) {
      onRelayed?.(head);
      yield head;
    }
    while (!relay.ended) {
      let output: Buffer;
      try {
        const next = await iterator.next();
        output = next.done ? relay.end() : relay.push(joinPiece(next.value));
      } catch (error) {
        if (isAborted()) return;
        const failure = fromMidStreamError(upstream, error);
        yield relay.fail(failure);
        return;
      }
      if (output.length > 0) {
        onRelayed?.(output);
        yield output;
      }
    }
  } finally {
    body.release(relay.sawDone);
  }
}
