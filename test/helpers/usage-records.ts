/** UsageRecords built by hand, for the ledger's tests (one answered request each). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UsageRecord } from '../../src/usage/usage-record.js';

export function usageRecord(fields: Partial<UsageRecord> = {}): UsageRecord {
  return {
    startedAt: Date.parse('2026-05-04T10:00:00Z'),
    keyId: 'key-1',
    keyName: 'laptop',
    clientAddress: '127.0.0.1',
    method: 'POST',
    route: '/api/chat',
    modelRequested: 'gpt-4o',
    modelServed: 'openai/gpt-4o-2024-08-06',
    backend: 'openrouter',
    status: 200,
    outcome: 'completed',
    finishReason: 'stop',
    promptTokens: 10,
    completionTokens: 20,
    reasoningTokens: 0,
    cachedTokens: 0,
    tokensEstimated: false,
    costUsd: 0.001,
    generationId: 'gen-1',
    timeToFirstTokenMs: 50,
    durationMs: 200,
    ...fields,
  };
}

/** A scratch folder for a test's database, removed by the returned function. */
export function scratchDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ollama-bridge-usage-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
