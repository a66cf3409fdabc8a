import { describe, expect, it } from 'vitest';
import { toModelInfos } from '../../src/adapters/openrouter/models.js';

const model = (pricing: unknown) => ({ id: 'vendor/model', name: 'Model', created: 1, context_length: 1000, architecture: { input_modalities: ['text'], output_modalities: ['text'] }, pricing });

describe("OpenRouter's pricing in the catalog", () => {
  it('is read in USD per million tokens from the per-token decimal strings', () => {
    const [info] = toModelInfos([model({ prompt: '0.0000025', completion: '0.00001', request: '0' })], 'openrouter').models;
    expect(info!.price!.prompt).toBeCloseTo(2.5, 9);
    expect(info!.price!.completion).toBeCloseTo(10, 9);
  });

  it('is no price when a figure is missing, not a number, or negative (a router priced by the model it picks)', () => {
    for (const pricing of [undefined, null, { prompt: '0.000001' }, { prompt: 'free', completion: '0' }, { prompt: '-1', completion: '-1' }]) {
      expect(toModelInfos([model(pricing)], 'openrouter').models[0]!.price, JSON.stringify(pricing)).toBeUndefined();
    }
    expect(toModelInfos([model({ prompt: '0', completion: '0' })], 'openrouter').models[0]!.price).toEqual({ prompt: 0, completion: 0 });
  });
});
