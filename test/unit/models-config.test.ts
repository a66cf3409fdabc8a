import { describe, expect, it } from 'vitest';
import { applyModelDefaults, parseModelsConfig } from '../../src/core/models-config.js';
import type { ChatRequest } from '../../src/core/types.js';

describe('models config', () => {
  const yaml = `
aliases:
  coder: qwen/qwen3-coder
  Fast: gpt-4o-mini
models:
  qwen/qwen3-coder:
    num_ctx: 32768
    temperature: 0.2
    num_predict: 2048
    think: false
  fast:
    top_p: 0.5
`;

  it('reads aliases and Ollama-format overrides from YAML', () => {
    const config = parseModelsConfig(yaml);
    expect([...config.aliases.entries()]).toEqual([
      ['coder:latest', { alias: 'coder', target: 'qwen/qwen3-coder' }],
      ['fast:latest', { alias: 'Fast', target: 'gpt-4o-mini' }],
    ]);
    expect(config.defaults.get('qwen/qwen3-coder:latest')).toEqual({ sampling: { temperature: 0.2, maxOutputTokens: 2048 }, reasoning: { enabled: false }, contextLength: 32768 });
    expect(config.defaults.get('fast:latest')).toEqual({ sampling: { topP: 0.5 } });
  });

  it('reads the same from JSON', () => {
    const config = parseModelsConfig(JSON.stringify({ aliases: { coder: 'qwen/qwen3-coder' }, models: { coder: { temperature: 0 } } }));
    expect(config.defaults.get('coder:latest')).toEqual({ sampling: { temperature: 0 } });
  });

  it('refuses what it cannot use, saying where', () => {
    expect(() => parseModelsConfig('aliases: [a, b]')).toThrow('aliases must be a mapping');
    expect(() => parseModelsConfig('model:\n  x: 1')).toThrow('unknown top-level key(s): model');
    expect(() => parseModelsConfig('models:\n  m:\n    temperature: hot')).toThrow('models.m: option "temperature" must be of type number');
    expect(() => parseModelsConfig('models:\n  m:\n    num_ctx: -5')).toThrow('models.m.num_ctx must be a positive integer');
    expect(() => parseModelsConfig('models:\n  m:\n    think: maybe')).toThrow('invalid think value');
  });

  it('reads a price in USD per million tokens; a price alone overrides nothing, so such a model still passes through', () => {
    const config = parseModelsConfig('models:\n  llama3.2:\n    price: { prompt: 0.1, completion: 0.4 }\n  coder:\n    temperature: 0\n    price: { prompt: 0, completion: 2 }\n');
    expect(config.prices.get('llama3.2:latest')).toEqual({ prompt: 0.1, completion: 0.4 });
    expect(config.defaults.has('llama3.2:latest')).toBe(false);
    expect(config.prices.get('coder:latest')).toEqual({ prompt: 0, completion: 2 });
    expect(config.defaults.get('coder:latest')).toEqual({ sampling: { temperature: 0 } });
    expect(config.problems).toEqual([]);
    expect(() => parseModelsConfig('models:\n  m:\n    price: 3')).toThrow('models.m.price must be a mapping');
    expect(() => parseModelsConfig('models:\n  m:\n    price: { prompt: 1 }')).toThrow('models.m.price.completion must be a number of USD per million tokens');
    expect(() => parseModelsConfig('models:\n  m:\n    price: { prompt: -1, completion: 1 }')).toThrow('models.m.price.prompt must be a number');
    expect(() => parseModelsConfig('models:\n  m:\n    price: { input: 1, prompt: 1, completion: 1 }')).toThrow('models.m.price: unknown key(s) input');
  });

  it('the request wins over the override, which wins over nothing', () => {
    const request: ChatRequest = { model: 'm', messages: [], sampling: { temperature: 0.9, topK: undefined } };
    applyModelDefaults(request, { sampling: { temperature: 0.2, topK: 20, maxOutputTokens: 100 }, reasoning: { enabled: false } });
    expect(request.sampling).toEqual({ temperature: 0.9, topK: 20, maxOutputTokens: 100 });
    expect(request.reasoning).toEqual({ enabled: false });
    const thinking: ChatRequest = { model: 'm', messages: [], sampling: {}, reasoning: { enabled: true, effort: 'high' } };
    applyModelDefaults(thinking, { sampling: {}, reasoning: { enabled: false } });
    expect(thinking.reasoning).toEqual({ enabled: true, effort: 'high' });
  });
});
