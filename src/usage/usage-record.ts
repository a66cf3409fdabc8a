/**
 * One answered request, as the ledger, the budgets, the metrics and the request log line see
 * it: who asked, for what, what served it, what it cost and how long it took. Never the prompt
 * or the answer. Built once per request when its response closes (see RequestUsage) and handed
 * to every subscriber of `app.usageEvents`.
 */

/** How the request ended. */
export type RequestOutcome =
  /** The answer was delivered whole. */
  | 'completed'
  /** Refused or failed, before or after the first byte (an error status or an in-band error). */
  | 'failed'
  /** The client hung up before the answer ended. */
  | 'aborted';

export interface UsageRecord {
  /** When the request arrived (Unix ms). */
  startedAt: number;
  /** The client key's id and name; absent on a gateway without keys. Never the key itself. */
  keyId?: string;
  keyName?: string;
  clientAddress: string;
  method: string;
  /** The route as registered (`/api/chat`, `/v1/chat/completions`), not the raw URL. */
  route: string;
  /** The model name as the client sent it. */
  modelRequested?: string;
  /**
   * The model that answered, as the upstream reports it (OpenRouter's `model`; it differs when
   * OpenRouter falls back); else the catalog's id of the model the request resolved to.
   */
  modelServed?: string;
  /** Which backend the request went to (`openrouter`, `ollama`). */
  backend?: string;
  /**
   * The HTTP status the client got (200 for a stream that failed or was cut after its first
   * byte; 499 when the client left before any status was sent).
   */
  status: number;
  outcome: RequestOutcome;
  /** The IR finish reason (`stop`, `length`, `tool-calls`, …) when the answer finished. */
  finishReason?: string;
  /** The gateway error code when it failed (`UPSTREAM_ERROR`, `RATE_LIMITED`, …). */
  errorCode?: string;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens?: number;
  cachedTokens?: number;
  /** True when the upstream did not report usage and the token figures are estimates. */
  tokensEstimated: boolean;
  /** Cost in USD: as the upstream reports it, or from the models config's price; 0 when unknown. */
  costUsd: number;
  /** The upstream's id for the generation (OpenRouter's `gen-…`). */
  generationId?: string;
  /**
   * From the request's arrival to the first answer token relayed (a non-stream answer: when its
   * first content came from the upstream); absent when none was (embeddings, refusals).
   */
  timeToFirstTokenMs?: number;
  durationMs: number;
}

export type UsageListener = (record: UsageRecord) => void;

/**
 * The fan-out of records to their subscribers (ledger, budgets, metrics, log line). A
 * subscriber that throws is logged and skipped: it never breaks the others or the response.
 */
export class UsageEvents {
  private readonly listeners: UsageListener[] = [];

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  subscribe(listener: UsageListener): () => void {
    this.listeners.push(listener);
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index !== -1) this.listeners.splice(index, 1);
    };
  }

  emit(record: UsageRecord): void {
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

/** Whether the ledger can take records, for `/health/ready` (set by the ledger when usage is recorded). */
export interface UsageLedgerHealth {
  health(): { writable: boolean; reason?: string };
}
