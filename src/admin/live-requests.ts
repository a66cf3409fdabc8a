/**
 * The Live view's feed: the last answered requests (a ring of 100, from `app.usageEvents`) and
 * each new one as it is answered, as LiveRequest: route, model, key name, status, tokens, cost
 * and timings; never the prompt or the answer (a UsageRecord holds neither).
 */
import type { UsageEvents, UsageRecord } from '../usage/usage-record.js';
import type { LiveRequest } from './api-types.js';

const KEPT = 100;

export type LiveListener = (request: LiveRequest) => void;

function liveRequestOf(record: UsageRecord): LiveRequest {
  return {
    at: new Date(record.startedAt).toISOString(),
    method: record.method,
    route: record.route,
    model: record.modelRequested ?? null,
    modelServed: record.modelServed ?? null,
    keyName: record.keyName ?? null,
    status: record.status,
    outcome: record.outcome,
    promptTokens: record.promptTokens,
    completionTokens: record.completionTokens,
    costUsd: record.costUsd,
    timeToFirstTokenMs: record.timeToFirstTokenMs ?? null,
    durationMs: record.durationMs,
  };
}

export class LiveRequests {
  /** Oldest first. */
  private readonly kept: LiveRequest[] = [];
  private readonly listeners = new Set<LiveListener>();
  /** When each key (by id) last made a request (Unix ms), since this process started. */
  readonly lastUsedByKey = new Map<string, number>();

  constructor(events: UsageEvents) {
    events.subscribe((record) => this.add(record));
  }

  /** The kept requests, oldest first. */
  recent(): readonly LiveRequest[] {
    return this.kept;
  }

  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private add(record: UsageRecord): void {
    if (record.keyId !== undefined) this.lastUsedByKey.set(record.keyId, Math.max(record.startedAt, this.lastUsedByKey.get(record.keyId) ?? 0));
    const request = liveRequestOf(record);
    this.kept.push(request);
    if (this.kept.length > KEPT) this.kept.shift();
    for (const listener of this.listeners) listener(request);
  }
}
