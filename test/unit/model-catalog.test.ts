import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { BackendAdapter } from '../../src/core/backend-adapter.js';
import { ModelCatalog } from '../../src/core/model-catalog.js';
import { parseModelFilter } from '../../src/core/model-filter.js';
import { parseModelsConfig } from '../../src/core/models-config.js';
import type { ModelInfo } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';

const silent = pino({ level: 'silent' });

function stubAdapter(ids: string[] | (() => Promise<string[]>), name = 'stub'): BackendAdapter & { calls: number } {
  const adapter = {
    name,
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

  it('gives a model the price the models config sets, and an alias its target price unless it has its own', async () => {
    const catalog = await catalogOf();
    catalog.setModelsConfig(parseModelsConfig('aliases:\n  coder: qwen/qwen3-coder\n  cheap: qwen/qwen3-coder\nmodels:\n  qwen3-coder:\n    price: { prompt: 0.2, completion: 0.8 }\n  cheap:\n    price: { prompt: 0, completion: 0 }\n'));
    expect((await catalog.resolve('qwen/qwen3-coder')).price).toEqual({ prompt: 0.2, completion: 0.8 });
    expect((await catalog.resolve('qwen/qwen3-coder')).defaults).toBeUndefined();
    expect((await catalog.resolve('coder')).price).toEqual({ prompt: 0.2, completion: 0.8 });
    expect((await catalog.resolve('cheap')).price).toEqual({ prompt: 0, completion: 0 });
    expect((await catalog.resolve('openai/gpt-4o')).price).toBeUndefined();
  });

  it('says why it cannot serve before the first catalog arrives, then fills when the upstream answers', async () => {
    let up = false;
    const adapter = stubAdapter(async () => {
      if (!up) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'cannot reach OpenRouter: connect ECONNREFUSED');
      return ['openai/gpt-4o'];
    });
    let now = 0;
    const catalog = new ModelCatalog({ adapters: [adapter], ttlSeconds: 600, log: silent, now: () => now, random: () => 0 });
    await catalog.refresh();
    await expect(catalog.resolve('gpt-4o')).rejects.toMatchObject({
      code: 'CATALOG_UNAVAILABLE',
      statusCode: 503,
      message: 'the model catalog is not available yet (cannot reach OpenRouter: connect ECONNREFUSED); try again shortly',
      retryAfter: '1',
    });
    up = true;
    now = 1_001; // the first retry is due after 1 s
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

/** A backend whose answer the test switches: a list, or a failure. */
function switchableBackend(name: string, ids: string[]): BackendAdapter & { calls: number; failing: boolean } {
  const backend = Object.assign(stubAdapter(async () => {
    if (backend.failing) throw new GatewayError('UPSTREAM_UNAVAILABLE', `cannot reach ${name}: connect ECONNREFUSED`);
    return ids;
  }, name), { failing: false });
  return backend;
}

/** A logger that keeps its lines. */
function recordingLog(): { log: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** Lets fetches that a request started in the background finish (the stubs answer at once). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const names = async (catalog: ModelCatalog): Promise<string[]> => (await catalog.snapshot()).entries.map((entry) => entry.info.id);

describe('one failing backend stays contained', () => {
  it('serves the healthy backend while the other has never answered, and adds it once it does', async () => {
    let now = 0;
    const ollama = switchableBackend('ollama', ['llama3.2:latest']);
    const openRouter = switchableBackend('openrouter', ['openai/gpt-4o']);
    ollama.failing = true;
    const catalog = new ModelCatalog({ adapters: [ollama, openRouter], ttlSeconds: 600, log: silent, now: () => now, random: () => 0 });
    expect(catalog.backendStates().map((backend) => backend.state)).toEqual(['pending', 'pending']);
    await catalog.refresh();
    expect(await names(catalog)).toEqual(['openai/gpt-4o']);
    expect(catalog.backendStates()).toEqual([
      { name: 'ollama', state: 'failing', lastError: 'cannot reach ollama: connect ECONNREFUSED', lastSuccessAt: undefined, models: 0 },
      { name: 'openrouter', state: 'up', lastError: undefined, lastSuccessAt: 0, models: 1 },
    ]);

    ollama.failing = false;
    now = 1_001;
    await catalog.snapshot();
    await settle();
    expect(await names(catalog)).toEqual(['llama3.2:latest', 'openai/gpt-4o']);
    expect(catalog.backendStates().map((backend) => [backend.state, backend.lastError, backend.lastSuccessAt])).toEqual([['up', undefined, 1_001], ['up', undefined, 0]]);
  });

  it("keeps each backend's last good list when it starts failing, and the other's refreshes go on", async () => {
    let now = 0;
    const ollama = switchableBackend('ollama', ['llama3.2:latest']);
    const openRouterIds = ['openai/gpt-4o'];
    const openRouter = switchableBackend('openrouter', openRouterIds);
    const catalog = new ModelCatalog({ adapters: [ollama, openRouter], ttlSeconds: 10, log: silent, now: () => now, random: () => 0 });
    await catalog.refresh();
    ollama.failing = true;
    openRouterIds.push('openai/gpt-4.1');
    now = 10_001;
    await catalog.snapshot();
    await settle();
    expect(await names(catalog)).toEqual(['llama3.2:latest', 'openai/gpt-4o', 'openai/gpt-4.1']);
    expect(catalog.backendStates().map((backend) => [backend.name, backend.state, backend.models])).toEqual([['ollama', 'failing', 1], ['openrouter', 'up', 2]]);
  });

  it('retries a failing backend 1 s, 2 s, 4 s … up to the TTL after each failure, however many requests come in between', async () => {
    let now = 0;
    const ollama = switchableBackend('ollama', ['llama3.2:latest']);
    const openRouter = switchableBackend('openrouter', ['openai/gpt-4o']);
    ollama.failing = true;
    const catalog = new ModelCatalog({ adapters: [ollama, openRouter], ttlSeconds: 10, log: silent, now: () => now, random: () => 0 });
    await catalog.start();
    catalog.stop(); // the timers are real; this test drives the clock through requests alone
    const attemptTimes: number[] = [];
    let lastCalls = ollama.calls;
    for (now = 0; now <= 40_000; now += 100) {
      await catalog.snapshot();
      await catalog.resolve('gpt-4o');
      await settle();
      if (ollama.calls !== lastCalls) attemptTimes.push(now);
      lastCalls = ollama.calls;
    }
    // Failures at 0, then retries after 1, 2, 4, 8 s, then every 10 s (the TTL).
    expect(attemptTimes).toEqual([1_100, 3_200, 7_300, 15_400, 25_500, 35_600]);
    // The healthy backend kept its own schedule: every 10 s (at 0, 10.1, 20.2 and 30.3 s).
    expect(openRouter.calls).toBe(4);
  });

  it('spreads retries with jitter: each delay is cut by up to half, never more', async () => {
    for (const random of [0, 0.5, 0.999]) {
      let now = 0;
      const ollama = switchableBackend('ollama', []);
      ollama.failing = true;
      const catalog = new ModelCatalog({ adapters: [ollama, switchableBackend('openrouter', ['openai/gpt-4o'])], ttlSeconds: 600, log: silent, now: () => now, random: () => random });
      await catalog.refresh(); // the first failure: a 1 s delay, jittered
      const expected = 1_000 * (1 - 0.5 * random);
      now = Math.floor(expected) - 1;
      await catalog.refresh();
      expect(ollama.calls).toBe(1);
      now = Math.ceil(expected) + 1;
      await catalog.refresh();
      expect(ollama.calls).toBe(2);
    }
  });

  it('logs each state change once, not once per retry', async () => {
    let now = 0;
    const { log, lines } = recordingLog();
    const ollama = switchableBackend('ollama', ['llama3.2:latest']);
    const catalog = new ModelCatalog({ adapters: [ollama, switchableBackend('openrouter', ['openai/gpt-4o'])], ttlSeconds: 600, log, now: () => now, random: () => 0 });
    await catalog.refresh();
    ollama.failing = true;
    for (now = 600_001; now < 700_000; now += 1_000) await catalog.refresh();
    expect(ollama.calls).toBeGreaterThan(5);
    ollama.failing = false;
    now += 600_000;
    await catalog.refresh();
    await catalog.refresh();
    const aboutOllama = lines.filter((line) => line.level >= 30 && /ollama/.test(line.msg)).map((line) => line.msg);
    expect(aboutOllama).toEqual([
      "could not refresh ollama's model list; serving its last good list and retrying with backoff",
      'ollama answers again: serving its 1 models',
    ]);
  });

  it('answers 503 with every reason while no backend has ever answered, without waiting on a backoff', async () => {
    let now = 0;
    const ollama = switchableBackend('ollama', []);
    const openRouter = switchableBackend('openrouter', []);
    ollama.failing = true;
    openRouter.failing = true;
    const catalog = new ModelCatalog({ adapters: [ollama, openRouter], ttlSeconds: 600, log: silent, now: () => now, random: () => 0 });
    await catalog.start();
    catalog.stop();
    now = 500;
    await expect(catalog.resolve('gpt-4o')).rejects.toMatchObject({
      code: 'CATALOG_UNAVAILABLE',
      statusCode: 503,
      retryAfter: '1',
      message: 'the model catalog is not available yet (cannot reach ollama: connect ECONNREFUSED; cannot reach openrouter: connect ECONNREFUSED); try again shortly',
    });
    expect([ollama.calls, openRouter.calls]).toEqual([1, 1]);
  });

  it('serves the first backend that answers without waiting for a slow one', async () => {
    let finishSlow!: (ids: string[]) => void;
    const slow = stubAdapter(() => new Promise<string[]>((resolve) => (finishSlow = resolve)), 'ollama');
    const catalog = new ModelCatalog({ adapters: [slow, stubAdapter(['openai/gpt-4o'], 'openrouter')], ttlSeconds: 600, log: silent });
    void catalog.start();
    expect((await catalog.resolve('gpt-4o')).info.id).toBe('openai/gpt-4o');
    expect(catalog.backendStates().map((backend) => backend.state)).toEqual(['pending', 'up']);
    finishSlow(['llama3.2:latest']);
    await catalog.refresh();
    catalog.stop();
    expect(await names(catalog)).toEqual(['llama3.2:latest', 'openai/gpt-4o']);
  });

  it('gives up on a listing that takes longer than its deadline, as a failure', async () => {
    const hanging: BackendAdapter = { ...stubAdapter([], 'ollama'), listModels: (signal?: AbortSignal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error))) };
    const catalog = new ModelCatalog({ adapters: [hanging], ttlSeconds: 600, log: silent, fetchTimeoutMs: 20 });
    await catalog.refresh();
    expect(catalog.backendStates()[0]).toMatchObject({ state: 'failing', lastError: 'ollama did not list its models within 0.02 s' });
  });
});

describe('/api/ps per key', () => {
  it('shows a key only the uses made with it; an open gateway sees every use once per model', async () => {
    let now = 1_000;
    const catalog = new ModelCatalog({ adapters: [stubAdapter(IDS)], ttlSeconds: 600, log: silent, now: () => now });
    await catalog.refresh();
    const gpt = await catalog.resolve('gpt-4o');
    const coder = await catalog.resolve('qwen3-coder');
    catalog.markUsed(gpt, 300_000, 'key-a');
    now += 10;
    catalog.markUsed(coder, 300_000, 'key-b');
    now += 10;
    catalog.markUsed(gpt, 300_000, 'key-b');
    expect(catalog.recentlyUsed('key-a').map((use) => use.entry.name)).toEqual(['openai/gpt-4o:latest']);
    expect(catalog.recentlyUsed('key-b').map((use) => use.entry.name)).toEqual(['openai/gpt-4o:latest', 'qwen/qwen3-coder:latest']);
    expect(catalog.recentlyUsed('key-c')).toEqual([]);
    expect(catalog.recentlyUsed().map((use) => [use.entry.name, use.lastUsedAt])).toEqual([['openai/gpt-4o:latest', 1_020], ['qwen/qwen3-coder:latest', 1_010]]);
    // key-a's own use keeps its own time, not key-b's later one.
    expect(catalog.recentlyUsed('key-a')[0]!.lastUsedAt).toBe(1_000);
  });
});
