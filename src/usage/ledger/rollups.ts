/** A batch's share of the daily roll-ups: one total per UTC day × key × served model, for every store. */
import type { UsageRecord } from '../usage-record.js';

export interface Rollup {
  day: string;
  keyId: string;
  keyName: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** A record's share of its day × key × model total; the model as served, else as requested when no upstream named one. */
export function addToRollup(rollups: Map<string, Rollup>, day: string, record: UsageRecord): void {
  const keyId = record.keyId ?? '';
  const keyName = record.keyName ?? '';
  const model = record.modelServed ?? record.modelRequested ?? '';
  const id = `${day}\n${keyId}\n${keyName}\n${model}`;
  let rollup = rollups.get(id);
  if (rollup === undefined) {
    rollup = { day, keyId, keyName, model, requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };
    rollups.set(id, rollup);
  }
  rollup.requests += 1;
  rollup.promptTokens += record.promptTokens;
  rollup.completionTokens += record.completionTokens;
  rollup.reasoningTokens += record.reasoningTokens ?? 0;
  rollup.cachedTokens += record.cachedTokens ?? 0;
  rollup.costUsd += record.costUsd;
}
