/**
 * What the /v1 relay tells about the answer it relays (a RequestUsage takes it all), and the
 * readings of a streamed answer's bytes that tell it: the few lines read anyway, or once per
 * answer.
 */
import { finishReasonFromOpenAi, usageFromOpenAi } from '../../../core/openai-answer.js';
import type { AnswerOrigin, FinishReason, Usage } from '../../../core/types.js';
import { firstStringField, lastStringField } from '../../json-field.js';
import { DATA_PREFIX, firstDataLine, isOnlyTerminators, lastDataLine } from './data-lines.js';

const LINE_FEED = 0x0a;
const USAGE_KEY = Buffer.from('"usage"');
const ID_FIELD = Buffer.from('"id":"');
const MODEL_FIELD = Buffer.from('"model":"');
const FINISH_REASON_FIELD = Buffer.from('"finish_reason":"');
const NATIVE_FINISH_REASON_FIELD = Buffer.from('"native_finish_reason":"');

/** Each told when the relay knows it. */
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

/** A streamed answer's readings: who answers from its first data event; its usage and finish reason at `[DONE]`. */
export class StreamReadings {
  /** The last read with more than blank lines: where the usage event may sit when `[DONE]` comes. */
  private previousRegion: Buffer | undefined;
  /** The read with more than blank lines before that one: where the finish chunk may sit. */
  private earlierRegion: Buffer | undefined;
  /** Still to tell the meter who answers (from the first data event). */
  private originUntold: boolean;

  constructor(private readonly meter: RelayMeter | undefined) {
    this.originUntold = meter?.answeredBy !== undefined;
  }

  /** A read's whole lines as they came, before the model echo rewrites `model`. */
  arrived(region: Buffer): void {
    if (this.originUntold) this.tellOrigin(region);
  }

  /** Keeps the last two reads with more than blank lines (by reference), for what `[DONE]` looks back at. */
  relayed(region: Buffer): void {
    if (isOnlyTerminators(region)) return;
    this.earlierRegion = this.previousRegion;
    this.previousRegion = region;
  }

  /** `[DONE]` starts at `doneLineStart` in `region`: the usage and finish reason before it. */
  done(region: Buffer, doneLineStart: number): void {
    this.reportUsage(region, doneLineStart);
    this.reportFinish(region, doneLineStart);
  }

  /** The first data event's `model` and `id` (every OpenRouter event has them), read once. */
  private tellOrigin(region: Buffer): void {
    const at = firstDataLine(region);
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

  /**
   * The usage is in the last data event before `[DONE]` (OpenRouter always sends one), in
   * this read or the previous one. Only that line is parsed.
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
    if (typeof usage === 'object' && usage !== null) this.meter.report(usageFromOpenAi(usage as Record<string, unknown>));
  }

  /**
   * How the answer finished, from the last `finish_reason` string before `[DONE]` (the
   * finish chunk, in this read or one of the two before). Byte searches only.
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
}
