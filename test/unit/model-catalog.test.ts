import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { BackendAdapter } from '../../src/adapters/adapter.js';
import { ModelCatalog } from '../../src/core/model-catalog.js';
import { parseModelFilter } from '../../src/core/model-filter.js';
import { parseModelsConfig } from '../../src/core/models-config.js';
import type { ModelInfo } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';

const silent = pino({ level: 'silent' });

function stubAdapter(ids: string[] | (() => Promise<string[]>)): BackendAdapter & { calls: number } {
  const adapter = {
    name: 'stub',
    calls: 0,
    async listModels(): Promise<ModelInfo[]> {
      adapter.calls++;
      const list = typeof ids === 'function' ? await ids() : ids;
      return list.map((id) => ({ id, backend: 'stub', capabilities: ['completion'], contextLength: 1000 }));
    },
    streamChat: () => Promise.reject(new Error('unused')),
    embed: () => Promise.reject(new Error('unused')),
    close: async () => undefined,
  };
  return adapter;
}

const IDS = ['openai/gpt-4o', 'deepseek/deepseek-chat-v3:free', 'mistralai/mistral-small', 'thirdparty/mistral-small', 'qwen/qwen3-coder'];

async function catalogOf(ids = IDS): Promise<ModelCatalog> {
  const catalog = new ModelCatalog({ adapters: [stubAdapter(ids)], ttlSeconds: 600, log: silent });
  await catalog.refresh();
  return catalog;
}

describe('model catalog', () => {
  it('lists every id with a tag, keeping real variants', async () => {
    const snapshot = await (await catalogOf()).snapshot();
    expect(snapshot.entries.map((entry) => entry.name)).toEqual(['openai/gpt-4o:latest', 'deepseek/deepseek-chat-v3:free', 'mistralai/mistral-small:latest', 'thirdparty/mistral-small:latest', 'qwen/qwen3-coder:latest']);
  });

  it('resolves with or without :latest, in any case', async () => {
    const catalog = await catalogOf();
    for (const name of ['openai/gpt-4o', 'openai/gpt-4o:latest', 'OpenAI/GPT-4o', 'gpt-4o', 'GPT-4o:latest']) {
      expect((await catalog.resolve(name)).info.id).toBe('openai/gpt-4o');
    }
    expect((await catalog.resolve('deepseek/deepseek-chat-v3:free')).info.id).toBe('deepseek/deepseek-chat-v3:free');
    expect((await catalog.resolve('deepseek-chat-v3:free')).info.id).toBe('deepseek/deepseek-chat-v3:free');
  });

  it('never guesses by suffix, prefix or substring', async () => {
    const catalog = await catalogOf();
    for (const name of ['gpt-4', 'gpt', 'openai/gpt-4o-mini', 'deepseek/deepseek-chat-v3', 'deepseek-chat-v3', 'o']) {
      await expect(catalog.resolve(name)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', statusCode: 404, message: `model '${name}' not found` });
    }
  });

  it('answers an ambiguous short name with a 404 listing the candidates', async () => {
    const catalog = await catalogOf();
    await expect(catalog.resolve('mistral-small')).rejects.toMatchObject({
      statusCode: 404,
      message: "model 'mistral-small' is ambiguous; use one of: mistralai/mistral-small:latest, thirdparty/mistral-small:latest",
    });
  });

  it('applies the models filter to listing and resolution', async () => {
    const catalog = await catalogOf();
    catalog.setFilter(parseModelFilter('*:free\nmistralai/*'));
    expect((await catalog.snapshot()).entries.map((entry) => entry.info.id)).toEqual(['deepseek/deepseek-chat-v3:free', 'mistralai/mistral-small']);
    await expect(catalog.resolve('openai/gpt-4o')).rejects.toBeInstanceOf(GatewayError);
    // With one vendor filtered out, the short name is no longer ambiguous.
    expect((await catalog.resolve('mistral-small')).info.id).toBe('mistralai/mistral-small');
  });

  it('lists aliases like models and carries per-model defaults', async () => {
    const catalog = await catalogOf();
    catalog.setModelsConfig(parseModelsConfig('aliases:\n  coder: qwen/qwen3-coder\n  ghost: nobody/nothing\nmodels:\n  qwen/qwen3-coder:\n    num_ctx: 500\n'));
    const snapshot = await catalog.snapshot();
    expect(snapshot.entries.map((entry) => entry.name)).toContain('coder:latest');
    expect(snapshot.entries.map((entry) => entry.name)).not.toContain('ghost:latest');
    const coder = await catalog.resolve('coder');
    expect(coder).toMatchObject({ alias: 'coder', info: { id: 'qwen/qwen3-coder' }, defaults: { contextLength: 500 } });
    expect((await catalog.resolve('qwen/qwen3-coder')).defaults).toEqual({ sampling: {}, contextLength: 500 });
  });

  it('says why it cannot serve before the first catalog arrives, then fills when the upstream answers', async () => {
    let up = false;
    const adapter = stubAdapter(async () => {
      if (!up) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'cannot reach OpenRouter: connect ECONNREFUSED');
      return ['openai/gpt-4o'];
    });
    const catalog = new ModelCatalog({ adapters: [adapter], ttlSeconds: 600, log: silent });
    await catalog.refresh();
    await expect(catalog.resolve('gpt-4o')).rejects.toMatchObject({
      code: 'CATALOG_UNAVAILABLE',
      statusCode: 503,
      message: 'the model catalog is not available yet (cannot reach OpenRouter: connect ECONNREFUSED); try again shortly',
    });
    up = true;
    expect((await catalog.resolve('gpt-4o')).info.id).toBe('openai/gpt-4o');
  });

  it('keeps serving the last good catalog when a refresh fails', async () => {
    let fail = false;
    const adapter = stubAdapter(async () => {
      if (fail) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'down');
      return ['openai/gpt-4o'];
    });
    let now = 0;
    const catalog = new ModelCatalog({ adapters: [adapter], ttlSeconds: 10, log: silent, now: () => now });
    await catalog.refresh();
    fail = true;
    now = 60_000;
    await catalog.refresh();
    expect((await catalog.resolve('gpt-4o')).info.id).toBe('openai/gpt-4o');
  });

  it('offers a fresh snapshot without waiting only while it is within its TTL', async () => {
    let now = 0;
    const adapter = stubAdapter(IDS);
    const catalog = new ModelCatalog({ adapters: [adapter], ttlSeconds: 10, log: silent, now: () => now });
    expect(catalog.freshSnapshot()).toBeUndefined();
    await catalog.refresh();
    expect(catalog.freshSnapshot()).toBe(await catalog.snapshot());
    now = 10_000;
    expect(catalog.freshSnapshot()).toBeDefined();
    now = 10_001;
    expect(catalog.freshSnapshot()).toBeUndefined();
    expect(adapter.calls).toBe(1);
  });

  it('refreshes in the background once the TTL has passed, without making the caller wait', async () => {
    let now = 0;
    const adapter = stubAdapter(IDS);
    const catalog = new ModelCatalog({ adapters: [adapter], ttlSeconds: 10, log: silent, now: () => now });
    await catalog.refresh();
    await catalog.snapshot();
    expect(adapter.calls).toBe(1);
    now = 11_000;
    await catalog.snapshot();
    await catalog.refresh();
    expect(adapter.calls).toBe(2);
  });

  it('remembers recently used models for /api/ps until their keep-alive runs out', async () => {
    let now = 1_000;
    const catalog = new ModelCatalog({ adapters: [stubAdapter(IDS)], ttlSeconds: 600, log: silent, now: () => now });
    await catalog.refresh();
    catalog.markUsed(await catalog.resolve('gpt-4o'), 300_000);
    catalog.markUsed(await catalog.resolve('qwen3-coder'), -1);
    expect(catalog.recentlyUsed().map((use) => use.entry.name)).toEqual(['qwen/qwen3-coder:latest', 'openai/gpt-4o:latest']);
    now += 300_001;
    expect(catalog.recentlyUsed().map((use) => use.entry.name)).toEqual(['qwen/qwen3-coder:latest']);
  });
});
