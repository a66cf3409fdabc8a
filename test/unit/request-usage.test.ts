import { describe, expect, it } from 'vitest';
import { RequestUsage, estimatePromptTokens, type SpentTokens } from '../../src/usage/request-usage.js';

function meter(promptTokens = 10): { usage: RequestUsage; spent: SpentTokens[] } {
  const spent: SpentTokens[] = [];
  return { usage: new RequestUsage(() => promptTokens, (value) => spent.push(value)), spent };
}

describe('RequestUsage', () => {
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
