/**
 * What one request spent upstream, settled once when its response closes — finished, failed
 * or cut off by the client — so that every path that spends (the translated answer, the /v1
 * relay, the native Ollama passthrough, streamed or not) is counted the same way. The usage
 * the upstream reported wins; when it never reported one (the client hung up, the answer broke
 * off, the upstream does not say), the spend is estimated: the prompt from the request's text,
 * the answer from what was relayed. Nothing is counted for a request the upstream never
 * accepted (refused before its answer started: it cost nothing).
 */
import type { Usage } from '../core/types.js';

export interface SpentTokens {
  inputTokens: number;
  outputTokens: number;
  /** True when the upstream did not report usage and the figures are estimates. */
  estimated: boolean;
}

/** Rough tokens for a text: about four characters per token for English and code. */
export function tokensForText(characters: number): number {
  return Math.ceil(characters / 4);
}

export class RequestUsage {
  private reported: Usage | undefined;
  private accepted = false;
  private outputCharacters = 0;
  private outputUnits = 0;
  private settled = false;

  constructor(
    /** Estimated prompt tokens, computed only if needed. */
    private readonly promptTokens: () => number,
    private readonly onSettled: (spent: SpentTokens) => void,
  ) {}

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

  /** Answer text relayed to the client (for the estimate). */
  addOutputText(characters: number): void {
    this.outputCharacters += characters;
  }

  /** Answer pieces relayed without decoding (an SSE event or an NDJSON line is about one token). */
  addOutputPieces(count: number): void {
    this.outputUnits += count;
  }

  /** Counts the request once (later calls do nothing). */
  settle(): void {
    if (this.settled) return;
    this.settled = true;
    const reported = this.reported;
    if (reported !== undefined && (reported.inputTokens !== undefined || reported.outputTokens !== undefined)) {
      this.onSettled({ inputTokens: reported.inputTokens ?? 0, outputTokens: reported.outputTokens ?? 0, estimated: false });
      return;
    }
    if (!this.accepted) return;
    this.onSettled({
      inputTokens: this.promptTokens(),
      outputTokens: Math.max(tokensForText(this.outputCharacters), this.outputUnits),
      estimated: true,
    });
  }
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
