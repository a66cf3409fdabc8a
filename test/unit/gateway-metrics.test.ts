/**
 * GatewayMetrics fed usage records directly: which records count as upstream errors and under
 * which status, the key and model labels, and one registry per instance.
 */
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, OTHER_MODEL } from '../../src/observability/metrics.js';
import type { UsageRecord } from '../../src/usage/usage-record.js';
import { Scrape } from '../helpers/metrics.js';

const CATALOG = new Map([['openai/gpt-4o', 'openai/gpt-4o:latest'], ['gpt-4o', 'openai/gpt-4o:latest']]);

function metrics(): GatewayMetrics {
  return new GatewayMetrics({
    catalogName: (model) => CATALOG.get(model),
    catalogModels: () => [{ name: 'openrouter', models: 3 }],
    activeStreams: () => 2,
  });
}

function record(fields: Partial<UsageRecord> = {}): UsageRecord {
  return {
    startedAt: Date.now(), clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', modelRequested: 'gpt-4o', backend: 'openrouter',
    status: 200, outcome: 'completed', promptTokens: 10, completionTokens: 5, tokensEstimated: false, costUsd: 0.002, durationMs: 1500, timeToFirstTokenMs: 300,
    ...fields,
  };
}

async function scraped(gatewayMetrics: GatewayMetrics): Promise<Scrape> {
  return new Scrape(await gatewayMetrics.text());
}

describe('GatewayMetrics', () => {
  it('sums tokens and cost over answers, the same on every scrape, with no series for what was never spent', async () => {
    const subject = metrics();
    subject.recordUsage(record({ keyName: 'alice' }));
    subject.recordUsage(record({ keyName: 'alice', promptTokens: 7, completionTokens: 0, costUsd: 0.001 }));
    expect((await scraped(subject)).value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'alice', type: 'prompt' })).toBe(17);
    subject.recordUsage(record({ keyName: 'bob', promptTokens: 2, completionTokens: 0, costUsd: 0 }));
    const scrape = await scraped(subject);
    expect(scrape.value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'alice', type: 'prompt' })).toBe(17);
    expect(scrape.value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'alice', type: 'completion' })).toBe(5);
    expect(scrape.value('ollama_bridge_cost_usd_total', { model: 'openai/gpt-4o:latest', key: 'alice' })).toBeCloseTo(0.003, 12);
    expect(scrape.value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'bob', type: 'prompt' })).toBe(2);
    expect(scrape.samples('ollama_bridge_tokens_total').filter((sample) => sample.labels?.key === 'bob')).toHaveLength(1);
    expect(scrape.samples('ollama_bridge_cost_usd_total').filter((sample) => sample.labels?.key === 'bob')).toHaveLength(0);
  });

  it('labels by the catalog name of the model and the key name; unknown models are other', async () => {
    const subject = metrics();
    subject.recordUsage(record({ keyName: 'alice', keyId: 'abcd1234' }));
    subject.recordUsage(record({ modelRequested: 'no/such-model', promptTokens: 1, completionTokens: 1, costUsd: 0 }));
    const scrape = await scraped(subject);
    expect(scrape.value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'alice', type: 'prompt' })).toBe(10);
    expect(scrape.value('ollama_bridge_tokens_total', { model: 'openai/gpt-4o:latest', key: 'alice', type: 'completion' })).toBe(5);
    expect(scrape.value('ollama_bridge_cost_usd_total', { model: 'openai/gpt-4o:latest', key: 'alice' })).toBeCloseTo(0.002, 12);
    expect(scrape.value('ollama_bridge_tokens_total', { model: OTHER_MODEL, key: '', type: 'prompt' })).toBe(1);
    expect(scrape.text).not.toContain('abcd1234');
    expect(scrape.text).not.toContain('no/such-model');
    expect(scrape.value('ollama_bridge_active_streams')).toBe(2);
    expect(scrape.value('ollama_bridge_catalog_models', { backend: 'openrouter' })).toBe(3);
    expect(scrape.histogramCount('ollama_bridge_request_duration_seconds')).toBe(2);
    expect(scrape.samples('ollama_bridge_request_duration_seconds')[0]?.buckets?.['2.5']).toBe('2');
    expect(scrape.samples('ollama_bridge_time_to_first_token_seconds')[0]?.buckets?.['0.25']).toBe('0');
    expect(scrape.samples('ollama_bridge_time_to_first_token_seconds')[0]?.buckets?.['0.5']).toBe('2');
  });

  it('counts upstream failures: an error status, an in-band error under its code’s status, a relayed status', async () => {
    const subject = metrics();
    subject.recordUsage(record({ status: 429, outcome: 'failed', errorCode: 'UPSTREAM_ERROR' }));
    // Failed after the first byte: the client got 200 and an in-band error.
    subject.recordUsage(record({ status: 200, outcome: 'failed', errorCode: 'UPSTREAM_TIMEOUT' }));
    subject.recordUsage(record({ status: 200, outcome: 'failed', errorCode: 'UPSTREAM_BAD_RESPONSE', backend: 'ollama' }));
    // The passthrough relays the backend's status as it is.
    subject.recordUsage(record({ status: 500, outcome: 'failed', backend: 'ollama', route: '/api/pull' }));
    // Not upstream failures: the gateway's own refusals, a client that left, a success.
    subject.recordUsage(record({ status: 404, outcome: 'failed', errorCode: 'MODEL_NOT_FOUND', backend: undefined }));
    subject.recordUsage(record({ status: 429, outcome: 'failed', errorCode: 'RATE_LIMITED', backend: undefined }));
    subject.recordUsage(record({ status: 200, outcome: 'aborted', errorCode: 'CLIENT_CLOSED' }));
    subject.recordUsage(record());
    const scrape = await scraped(subject);
    const errors = scrape.samples('ollama_bridge_upstream_errors_total').map((sample) => `${sample.labels?.backend} ${sample.labels?.status} ${sample.value}`).sort();
    expect(errors).toEqual(['ollama 500 1', 'ollama 502 1', 'openrouter 429 1', 'openrouter 504 1']);
  });

  it('keeps each instance to its own registry', async () => {
    const first = metrics();
    const second = metrics();
    first.countRequest('/api/tags', 200, undefined);
    first.countRequest('/api/chat', 200, 'gpt-4o');
    expect((await scraped(first)).value('ollama_bridge_requests_total', { route: '/api/tags', status: '200', model: '' })).toBe(1);
    expect((await scraped(first)).value('ollama_bridge_requests_total', { route: '/api/chat', status: '200', model: 'openai/gpt-4o:latest' })).toBe(1);
    expect((await scraped(second)).samples('ollama_bridge_requests_total')).toEqual([]);
  });
});
