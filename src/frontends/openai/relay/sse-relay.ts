/**
 * The streamed /v1 relay's line machine: an OpenAI-dialect SSE answer in, what the client
 * gets out, one network read at a time. Pure, and synchronous.
 *
 * The upstream's bytes are forwarded unchanged wherever nothing needs translating. The
 * LineScanner cuts each read into whole lines; they are inspected with byte searches only
 * (data-lines.ts), and a line is decoded and parsed only when a search says it may be one of
 * the few that matter:
 * - `data: [DONE]`: forwarded, and the relay ends (whatever follows is dropped);
 * - an error event (the upstream's `errorIn` says what is one): answered with a status when
 *   no data event has been forwarded yet, else rewritten into OpenAI's in-band error event,
 *   and the relay ends (never a clean `[DONE]` after a failure);
 * - a data line whose payload is not `{…}` or `[DONE]` (`payloadKind`): treated like an
 *   error event, as an unreadable event (502 before the start);
 * - a chunk whose `reasoning` is a string: `reasoning_content` spliced in beside it
 *   (reasoning-content.ts), the rest of the line byte-identical;
 * - the upstream's model id: replaced by the name the client asked for in everything
 *   forwarded (model-echo.ts).
 * An upstream that ends (EOF, reset, timeout) without `[DONE]` gets an in-band error event.
 */
import type { ForwardedResponse } from '../../../core/backend-adapter.js';
import { GatewayError } from '../../../errors.js';
import { LineScanner, lineBounds } from '../../../streaming/line-scanner.js';
import { openAiErrorEvent } from '../encode.js';
import { DATA_PREFIX, EMPTY_CHOICES, ERROR_PROBE, isCompleteDataLine, needsNoLook, payloadKind, startsWith } from './data-lines.js';
import { ModelEcho } from './model-echo.js';
import { withReasoningContent } from './reasoning-content.js';
import { StreamReadings, type RelayMeter } from './relay-meter.js';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const COLON = 0x3a;
const BLANK_LINE = Buffer.from('\n\n');
const LINE_FEED_BYTES = Buffer.from('\n');
const CRLF_CRLF_TAIL = Buffer.from('\n\r\n');
const EMPTY = Buffer.alloc(0);

/** Who answers and what its errors look like: what the relay needs of a ForwardedResponse besides its body. */
export type RelayedUpstream = Pick<ForwardedResponse, 'upstream' | 'errorIn'>;

export interface SseRelayOptions {
  /** Told the usage, who answered, how it finished or failed, and each piece relayed (the estimate, should the answer be cut off before its usage). */
  meter?: RelayMeter;
  /**
   * false: usage-only chunks (`choices: []`) are dropped, the accounting still reads them.
   * OpenRouter always sends one; OpenAI only with `stream_options.include_usage`, and
   * clients that index `choices[0]` break on it. Default true.
   */
  includeUsage?: boolean;
  /** The model name the client asked for, put in place of the upstream's (model-echo.ts). */
  echoModel?: string;
  /** The longest line held across reads. */
  maxLineBytes?: number;
}

/** What `inspectData` decides for one data line. */
type LineOutcome = { stop: boolean; keepLine?: boolean; replacement?: Buffer } | undefined;

/**
 * `push` takes one network read and returns what to forward for it (one Buffer; empty when
 * nothing is complete yet); `end` is called at EOF; `fail` turns a transport failure into the
 * in-band error event.
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
  private readonly lines: LineScanner;
  private readonly meter: RelayMeter | undefined;
  private readonly readings: StreamReadings;
  /** Puts the client's model name in what is forwarded; undefined: forwarded as is. */
  private readonly echo: ModelEcho | undefined;
  private readonly dropUsageOnlyChunks: boolean;
  /** The last line forwarded was blank (or nothing was forwarded): an event can start here. */
  private atEventBoundary = true;

  constructor(private readonly upstream: RelayedUpstream, options: SseRelayOptions = {}) {
    this.lines = new LineScanner(options.maxLineBytes);
    this.meter = options.meter;
    this.readings = new StreamReadings(options.meter);
    this.echo = options.echoModel === undefined ? undefined : new ModelEcho(options.echoModel);
    this.dropUsageOnlyChunks = options.includeUsage === false;
  }

  push(chunk: Uint8Array): Buffer {
    if (this.ended) return EMPTY;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const cut = this.lines.push(buffer);
    if (cut === 0) return EMPTY;
    let region = cut === buffer.length ? buffer : buffer.subarray(0, cut);
    // A line that began in earlier reads: joined with all of this read's lines, one buffer to forward.
    if (this.lines.holdsLineStart) region = this.lines.joinHeld(region);
    this.readings.arrived(region);
    // The model named as the client named it (rewritten in place when it can be: `region`
    // is the only reference to these bytes the relay keeps).
    if (this.echo !== undefined) region = this.echo.apply(region);
    if (this.started && needsNoLook(region, this.dropUsageOnlyChunks)) {
      // The hot path: nothing in these lines needs a look.
      this.noteEnding(region);
      this.readings.relayed(region);
      return region;
    }
    const output = this.relayLines(region, this.lines.firstLineStart);
    this.readings.relayed(region);
    return output;
  }

  /** EOF: a last line without terminator is still read; without `[DONE]`, an error event. */
  end(): Buffer {
    if (this.ended) return EMPTY;
    const parts: Buffer[] = [];
    const tail = this.lines.flush();
    if (tail !== undefined && isCompleteDataLine(tail)) {
      const lines = Buffer.concat([tail, BLANK_LINE]);
      const last = this.relayLines(this.echo === undefined ? lines : this.echo.apply(lines), 0);
      if (last.length > 0) parts.push(last);
    }
    if (!this.ended) {
      if (!this.started) {
        this.ended = true;
        this.errorBeforeStart = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream.upstream} ended the stream without answering`);
      } else {
        parts.push(this.fail(new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream.upstream} ended the stream without finishing the answer`)));
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

  /** Line by line from `lineStart`: forwards unchanged runs as slices, rewrites or stops where needed. */
  private relayLines(region: Buffer, lineStart: number): Buffer {
    const parts: Buffer[] = [];
    let runStart = 0;
    while (lineStart < region.length) {
      const { lineEnd, next } = lineBounds(region, lineStart);
      const nextStart = Math.min(next, region.length);
      const blank = lineEnd === lineStart;
      if (!blank && region[lineStart] !== COLON && startsWith(region, lineStart, DATA_PREFIX)) {
        const outcome = this.inspectData(region, lineStart, lineEnd);
        if (outcome !== undefined) {
          if (outcome.stop) {
            if (outcome.keepLine) {
              this.readings.done(region, lineStart);
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
  private inspectData(region: Buffer, lineStart: number, lineEnd: number): LineOutcome {
    let payloadStart = lineStart + DATA_PREFIX.length;
    if (region[payloadStart] === 0x20) payloadStart++;
    const payload = region.subarray(payloadStart, lineEnd);
    const kind = payloadKind(payload);
    if (kind === 'done') {
      this.ended = true;
      this.sawDone = true;
      if (!this.started) {
        this.errorBeforeStart = new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream.upstream} ended the stream without answering`);
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

  /** The error an event stands for (the upstream's reading of it); a payload that does not parse is an unreadable event. */
  private errorIn(payload: Buffer): GatewayError | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.unreadableEvent();
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.unreadableEvent();
    return this.upstream.errorIn(parsed as Record<string, unknown>);
  }

  private unreadableEvent(): GatewayError {
    return new GatewayError('UPSTREAM_BAD_RESPONSE', `${this.upstream.upstream} sent an unreadable stream event`);
  }

  /** Remembers whether `region` (complete lines) ends with a blank line. */
  private noteEnding(region: Buffer): void {
    let end = region.length - 1;
    if (region[end] === LINE_FEED && end > 0 && region[end - 1] === CARRIAGE_RETURN) {
      end--;
    } else if (end === 0 && this.lines.firstLineStart === 1) {
      return; // only the LF of a CRLF cut between two reads
    }
    // A terminator at the very start ends a blank line (the previous read ended a line).
    const before = end === 0 ? LINE_FEED : region[end - 1];
    this.atEventBoundary = before === LINE_FEED || before === CARRIAGE_RETURN;
  }
}

function concatParts(parts: Buffer[]): Buffer {
  const nonEmpty = parts.filter((part) => part.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  return nonEmpty.length === 1 ? nonEmpty[0]! : Buffer.concat(nonEmpty);
}
