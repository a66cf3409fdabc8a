import { describe, expect, it } from 'vitest';
import { parseModelsConfig } from '../../src/core/models-config.js';

describe('models config: fallbacks, retries and provider routing', () => {
  const yaml = `
provider:
  data_collection: deny
models:
  free/model:free:
    fallbacks: [paid/model, llama3]
    retries: 2
    provider: { sort: price, order: [deepinfra], max_price: { prompt: "1", completion: 2 } }
  only/routing:
    provider: { zdr: true }
`;

  it("reads each model's fallbacks, retries and provider object, and the default provider", () => {
    const config = parseModelsConfig(yaml);
    expect(config.routing.get('free/model:free')).toEqual({
      fallbacks: ['paid/model', 'llama3'],
      retries: 2,
      provider: { sort: 'price', order: ['deepinfra'], max_price: { prompt: '1', completion: 2 } },
    });
    expect(config.provider).toEqual({ data_collection: 'deny' });
  });

  it('keeps a model with only routing free of overrides (it still passes through as it is)', () => {
    const config = parseModelsConfig(yaml);
    expect(config.defaults.has('only/routing:latest')).toBe(false);
    expect(config.defaults.has('free/model:free')).toBe(false);
    expect(config.problems).toEqual([]);
  });

  it('says which key a misspelt one means', () => {
    expect(parseModelsConfig('models:\n  m:\n    fallback: [x]\n').problems).toEqual(['line 3 (models.m.fallback): unknown option "fallback"; ignored; did you mean fallbacks?']);
  });

  it('refuses what it cannot use, naming where', () => {
    expect(() => parseModelsConfig('models:\n  m:\n    fallbacks: llama3\n')).toThrow('models.m.fallbacks must be a list of model names');
    expect(() => parseModelsConfig('models:\n  m:\n    retries: -1\n')).toThrow('models.m.retries must be a whole number from 0 to 5');
    expect(() => parseModelsConfig('models:\n  m:\n    retries: 9\n')).toThrow('models.m.retries must be a whole number from 0 to 5');
    expect(() => parseModelsConfig('models:\n  m:\n    provider: { sort: cheapest }\n')).toThrow(/^models\.m\.provider\.sort: /);
    expect(() => parseModelsConfig('models:\n  m:\n    provider: { order: deepinfra }\n')).toThrow(/^models\.m\.provider\.order: /);
    expect(() => parseModelsConfig('provider: { data_colection: deny }\n')).toThrow('provider: unknown field(s) data_colection (expected order, only, ignore, sort, max_price, data_collection, zdr, allow_fallbacks, require_parameters)');
    expect(() => parseModelsConfig('provider: { data_collection: maybe }\n')).toThrow(/^provider\.data_collection: /);
    expect(() => parseModelsConfig('routing: {}\n')).toThrow('unknown top-level key(s): routing (expected aliases, models, provider)');
  });
});
