import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { RequestUsage, estimatePromptTokens, type SpentTokens } from '../../src/usage/request-usage.js';

function meter(promptTokens = 10): { usage: RequestUsage; spent: SpentTokens[] } {
  const spent: SpentTokens[] = [];
  return { usage: new RequestUsage(performance.now(), () => promptTokens, (value) => spent.push(value)), spent };
}

describe('RequestUsage', () => {
  it('times the request from its arrival, not from when its usage was opened', () => {
    const arrivedAt = performance.now() - 500;
    const usage = new RequestUsage(arrivedAt, () => 0, () => undefined);
    const record = usage.record({ clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', status: 200, delivered: true });
    expect(record.durationMs).toBeGreaterThanOrEqual(500);
    expect(Math.abs(Date.now() - 500 - record.startedAt)).toBeLessThan(50);
    expect(Number.isInteger(record.startedAt)).toBe(true);
  });

  it('counts the usage the upstream reported, once', () => {
    const { usage, spent } = meter();
    usage.upstreamAccepted();
    usage.addOutputText(4000);
    usage.report({ inputTokens: 7, outputTokens: 3 });
    usage.settle();
    usage.settle();
    expect(spent).toEqual([{ inputTokens: 7, outputTokens: 3, estimated: false }]);
  });

  it('an answer cut off before the upstream reported usage: the prompt and what was relayed are estimated', () => {
    const { usage, spent } = meter(25);
    usage.upstreamAccepted();
    usage.addOutputText(400);
    usage.settle();
    expect(spent).toEqual([{ inputTokens: 25, outputTokens: 100, estimated: true }]);
  });

  it('pieces relayed without decoding count one token each, unless the text says more', () => {
    const { usage, spent } = meter(0);
    usage.upstreamAccepted();
    usage.addOutputPieces(30);
    usage.settle();
    expect(spent[0]!.outputTokens).toBe(30);
  });

  it('a request the upstream never accepted costs nothing', () => {
    const { usage, spent } = meter(50);
    usage.addOutputText(100);
    usage.settle();
    expect(spent).toEqual([]);
  });

  it('a usage without token counts (cost only) falls back to the estimate', () => {
    const { usage, spent } = meter(5);
    usage.report({ cost: 0.01 });
    usage.addOutputText(8);
    usage.settle();
    expect(spent).toEqual([{ inputTokens: 5, outputTokens: 2, estimated: true }]);
  });
});

describe('RequestUsage.record', () => {
  const closed = { clientAddress: '127.0.0.1', method: 'POST', route: '/api/chat', status: 200, delivered: true };

  it('completed: the reported usage and cost, the upstream\'s word on who answered over the catalog\'s id', () => {
    const { usage } = meter();
    usage.servedBy('openrouter', 'openai/gpt-4o', { prompt: 1, completion: 1 });
    usage.answeredBy({ modelServed: 'openai/gpt-4o-2024-08-06', generationId: 'gen-1' });
    usage.addBatch([{ type: 'text-delta', text: 'Hi' }]);
    usage.addBatch([{ type: 'finish', reason: 'stop', usage: { inputTokens: 5, outputTokens: 1, reasoningTokens: 0, cachedTokens: 3, cost: 0.25 } }]);
    const record = usage.record({ ...closed, keyId: 'k1', keyName: 'laptop', modelRequested: 'gpt-4o' });
    expect(record).toMatchObject({
      keyId: 'k1', keyName: 'laptop', modelRequested: 'gpt-4o', modelServed: 'openai/gpt-4o-2024-08-06', backend: 'openrouter', generationId: 'gen-1',
      status: 200, outcome: 'completed', finishReason: 'stop', promptTokens: 5, completionTokens: 1, reasoningTokens: 0, cachedTokens: 3,
      tokensEstimated: false, costUsd: 0.25,
    });
    expect(record.timeToFirstTokenMs).toBeGreaterThanOrEqual(0);
    expect(record.timeToFirstTokenMs).toBeLessThanOrEqual(record.durationMs);
    expect(record).not.toHaveProperty('errorCode');
  });

  it('without a reported cost, the cost is the tokens at the model\'s price per million; without a price, 0', () => {
    const priced = meter().usage;
    priced.servedBy('ollama', 'llama3.2:latest', { prompt: 2, completion: 8 });
    priced.report({ inputTokens: 1000, outputTokens: 500 });
    expect(priced.record(closed).costUsd).toBeCloseTo((1000 * 2 + 500 * 8) / 1_000_000, 12);
    expect(priced.record(closed).modelServed).toBe('llama3.2:latest');
    const unpriced = meter().usage;
    unpriced.report({ inputTokens: 1000, outputTokens: 500 });
    expect(unpriced.record(closed).costUsd).toBe(0);
  });

  it('aborted when the answer did not reach the client whole, whatever else happened; estimated tokens priced too', () => {
    const { usage } = meter(40);
    usage.servedBy('openrouter', 'm', { prompt: 1_000_000, completion: 0 });
    usage.upstreamAccepted();
    usage.addBatch([{ type: 'text-delta', text: 'x'.repeat(8) }]);
    const record = usage.record({ ...closed, delivered: false });
    expect(record).toMatchObject({ outcome: 'aborted', promptTokens: 40, completionTokens: 2, tokensEstimated: true, costUsd: 40 });
    expect(record).not.toHaveProperty('finishReason');
  });

  it('failed with an error status, or with an in-band error after a 200 (the first error code said stays)', () => {
    const refused = meter().usage;
    refused.failed('RATE_LIMITED');
    expect(refused.record({ ...closed, status: 429 })).toMatchObject({ outcome: 'failed', errorCode: 'RATE_LIMITED', promptTokens: 0, completionTokens: 0, costUsd: 0 });
    const inBand = meter().usage;
    inBand.upstreamAccepted();
    inBand.addBatch([{ type: 'text-delta', text: 'part' }, { type: 'error', error: new GatewayError('UPSTREAM_ERROR', 'gone') }]);
    inBand.failed('INTERNAL');
    expect(inBand.record(closed)).toMatchObject({ status: 200, outcome: 'failed', errorCode: 'UPSTREAM_ERROR', tokensEstimated: true });
  });

  it('has no time to first token when nothing was relayed', () => {
    const { usage } = meter();
    usage.addBatch([{ type: 'finish', reason: 'stop' }]);
    expect(usage.record(closed)).not.toHaveProperty('timeToFirstTokenMs');
  });
});

describe('estimatePromptTokens', () => {
  it('counts the text of every string in any dialect, about four characters a token', () => {
    expect(estimatePromptTokens({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(391) }] })).toBe(Math.ceil((1 + 4 + 391) / 4));
    expect(estimatePromptTokens({ messages: [{ role: 'user', content: [{ type: 'text', text: 'abcd' }] }] })).toBe(Math.ceil((4 + 4 + 4) / 4));
  });

  it('leaves image data out: data URLs and long base64 runs', () => {
    const base64 = 'iVBORw0KGgo'.repeat(1000);
    expect(estimatePromptTokens({ images: [base64] })).toBe(0);
    expect(estimatePromptTokens({ content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${base64}` } }] })).toBe(Math.ceil('image_url'.length / 4));
  });
});
