/**
 * What one request spent upstream and how it went, gathered while it is answered and settled
 * once when its response closes — finished, failed or cut off by the client — so that every
 * path that spends (the translated answer, the /v1 relay, the native Ollama passthrough,
 * streamed or not) is counted and recorded the same way (usage-record.ts). The usage the
 * upstream reported wins; when it never reported one (the client hung up, the answer broke
 * off, the upstream does not say), the spend is estimated: the prompt from the request's text,
 * the answer from what was relayed. Nothing is counted for a request the upstream never
 * accepted (refused before its answer started: it cost nothing).
 */
import { performance } from 'node:perf_hooks';
import type { AnswerOrigin, ChatEventBatch, FinishReason, ModelPrice, Usage } from '../core/types.js';
import type { RequestOutcome, UsageRecord } from './usage-record.js';

export interface SpentTokens {
  inputTokens: number;
  outputTokens: number;
  /** True when the upstream did not report usage and the figures are estimates. */
  estimated: boolean;
}

/** What the record takes from the request and its response when it closes. */
export interface ClosedRequest {
  keyId?: string;
  keyName?: string;
  clientAddress: string;
  method: string;
  route: string;
  modelRequested?: string;
  status: number;
  /** The whole answer reached the client (else the client hung up first). */
  delivered: boolean;
}

/** Rough tokens for a text: about four characters per token for English and code. */
export function tokensForText(characters: number): number {
  return Math.ceil(characters / 4);
}

export class RequestUsage {
  /** When the request arrived (Unix ms). */
  readonly startedAt: number;
  private reported: Usage | undefined;
  private accepted = false;
  private outputCharacters = 0;
  private outputUnits = 0;
  private spent: SpentTokens | undefined;
  private backend: string | undefined;
  /** The catalog's id of the model: what served it, should the upstream not say. */
  private resolvedModel: string | undefined;
  private price: ModelPrice | undefined;
  private origin: AnswerOrigin | undefined;
  private finishReason: FinishReason | undefined;
  private errorCode: string | undefined;
  private firstTokenAt: number | undefined;

  constructor(
    /** When the request arrived, on performance.now()'s clock (the usage may be opened later). */
    private readonly arrivedAt: number,
    /** Estimated prompt tokens, computed only if needed. */
    private readonly promptTokens: () => number,
    /** Told what was spent, once, if anything was. */
    private readonly onSettled: (spent: SpentTokens) => void,
  ) {
    this.startedAt = Math.round(Date.now() - (performance.now() - arrivedAt));
  }

  /** The request goes to this backend's model (the catalog's id), priced so (the models config's, else the backend's). */
  servedBy(backend: string, modelId?: string, price?: ModelPrice): void {
    this.backend = backend;
    if (modelId !== undefined) this.resolvedModel = modelId;
    if (price !== undefined) this.price = price;
  }

  /** A failed try is behind: what its upstream said of who answers, and that it accepted, no longer hold (a fallback follows). */
  nextTry(): void {
    this.origin = undefined;
    this.accepted = false;
  }

  /** Who answers, as the upstream says (a later word completes an earlier one). */
  answeredBy(origin: AnswerOrigin): void {
    this.origin = { ...this.origin, ...origin };
  }

  /** The upstream accepted the request (its answer started): from here on it spends. */
  upstreamAccepted(): void {
    this.accepted = true;
  }

  /** The usage the upstream reported (a later report completes or replaces an earlier one). */
  report(usage: Usage | undefined): void {
    if (usage === undefined) return;
    this.accepted = true;
    this.reported = { ...this.reported, ...usage };
  }

  /** The first piece of the answer goes to the client now (the time to first token). */
  answerStarted(): void {
    this.firstTokenAt ??= performance.now();
  }

  /** The answer ended with this IR reason. */
  finished(reason: FinishReason): void {
    this.finishReason = reason;
  }

  /** The request failed with this gateway error code (the first one said stays). */
  failed(code: string): void {
    this.errorCode ??= code;
  }

  /** Answer text relayed to the client (for the estimate). */
  addOutputText(characters: number): void {
    this.outputCharacters += characters;
  }

  /** Answer pieces relayed without decoding (an SSE event or an NDJSON line is about one token). */
  addOutputPieces(count: number): void {
    this.outputUnits += count;
  }

  /**
   * A batch of the translated answer on its way to the client: its text counts for the
   * estimate, its first content is the first token, its last event may end the answer.
   */
  addBatch(batch: ChatEventBatch): void {
    let characters = 0;
    for (const event of batch) {
      if (event.type === 'text-delta' || event.type === 'reasoning-delta') characters += event.text.length;
      else if (event.type === 'tool-call') characters += event.call.name.length + event.call.arguments.length;
    }
    if (characters > 0) {
      this.outputCharacters += characters;
      this.firstTokenAt ??= performance.now();
    }
    const last = batch[batch.length - 1];
    if (last?.type === 'finish') {
      this.finishReason = last.reason;
      this.report(last.usage);
    } else if (last?.type === 'error') {
      this.failed(last.error.code);
    }
  }

  /** What the request spent, settled once (later calls return the same); counted against the limits then. */
  settle(): SpentTokens {
    if (this.spent !== undefined) return this.spent;
    const reported = this.reported;
    if (reported !== undefined && (reported.inputTokens !== undefined || reported.outputTokens !== undefined)) {
      this.spent = { inputTokens: reported.inputTokens ?? 0, outputTokens: reported.outputTokens ?? 0, estimated: false };
    } else if (this.accepted) {
      this.spent = {
        inputTokens: this.promptTokens(),
        outputTokens: Math.max(tokensForText(this.outputCharacters), this.outputUnits),
        estimated: true,
      };
    } else {
      this.spent = { inputTokens: 0, outputTokens: 0, estimated: false };
      return this.spent;
    }
    this.onSettled(this.spent);
    return this.spent;
  }

  /** Milliseconds since the request arrived. */
  private elapsedMs(): number {
    return performance.now() - this.arrivedAt;
  }

  /** The request's record (settling it first): see UsageRecord for each field. */
  record(closed: ClosedRequest): UsageRecord {
    const spent = this.settle();
    const reported = this.reported;
    const record: UsageRecord = {
      startedAt: this.startedAt,
      clientAddress: closed.clientAddress,
      method: closed.method,
      route: closed.route,
      status: closed.status,
      outcome: outcomeOf(closed, this.errorCode),
      promptTokens: spent.inputTokens,
      completionTokens: spent.outputTokens,
      tokensEstimated: spent.estimated,
      costUsd: reported?.cost ?? costFromPrice(spent, this.price),
      durationMs: this.elapsedMs(),
    };
    if (closed.keyId !== undefined) record.keyId = closed.keyId;
    if (closed.keyName !== undefined) record.keyName = closed.keyName;
    if (closed.modelRequested !== undefined) record.modelRequested = closed.modelRequested;
    const modelServed = this.origin?.modelServed ?? this.resolvedModel;
    if (modelServed !== undefined) record.modelServed = modelServed;
    if (this.backend !== undefined) record.backend = this.backend;
    if (this.finishReason !== undefined) record.finishReason = this.finishReason;
    if (this.errorCode !== undefined) record.errorCode = this.errorCode;
    if (reported?.reasoningTokens !== undefined) record.reasoningTokens = reported.reasoningTokens;
    if (reported?.cachedTokens !== undefined) record.cachedTokens = reported.cachedTokens;
    if (this.origin?.generationId !== undefined) record.generationId = this.origin.generationId;
    if (this.firstTokenAt !== undefined) record.timeToFirstTokenMs = this.firstTokenAt - this.arrivedAt;
    return record;
  }
}

/** Cut off by the client before the answer was whole; failed with an error status or an in-band error; else completed. */
function outcomeOf(closed: ClosedRequest, errorCode: string | undefined): RequestOutcome {
  if (!closed.delivered) return 'aborted';
  return closed.status >= 400 || errorCode !== undefined ? 'failed' : 'completed';
}

/** The cost at the model's price per million tokens; 0 without a price. */
function costFromPrice(spent: SpentTokens, price: ModelPrice | undefined): number {
  if (price === undefined) return 0;
  return (spent.inputTokens * price.prompt + spent.outputTokens * price.completion) / 1_000_000;
}

/**
 * Estimated prompt tokens of a request body in any dialect: the text of every string in it,
 * except image data (data URLs, long base64 runs), which models bill in their own ways.
 * Iterative: request bodies are bounded in depth before they get here, but not in size.
 */
export function estimatePromptTokens(body: unknown): number {
  let characters = 0;
  const pending: unknown[] = [body];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!isImageData(value)) characters += value.length;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) pending.push(item);
    }
  }
  return tokensForText(characters);
}

const BASE64_RUN = /^[A-Za-z0-9+/=\r\n]+$/;

function isImageData(text: string): boolean {
  if (text.startsWith('data:')) return true;
  return text.length >= 1024 && BASE64_RUN.test(text.slice(0, 1024));
}

const DATA_FIELD = Buffer.from('data:');

/** SSE events in relayed bytes (their `data:` fields): about one token each. */
export function countSseEvents(bytes: Buffer): number {
  let count = 0;
  for (let index = bytes.indexOf(DATA_FIELD); index !== -1; index = bytes.indexOf(DATA_FIELD, index + DATA_FIELD.length)) count++;
  return count;
}
