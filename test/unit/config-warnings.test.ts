/**
 * Configuration mistakes are said, once: filter entries that match no model, a filter that
 * serves nothing, overrides and aliases that name no model, unknown option names; each with
 * the file, the line (or key path) and a "did you mean" when a listed name is close.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import type { BackendAdapter } from '../../src/core/backend-adapter.js';
import { closestName } from '../../src/core/closest-name.js';
import { ModelCatalog } from '../../src/core/model-catalog.js';
import { parseModelFilter } from '../../src/core/model-filter.js';
import { parseModelsConfig } from '../../src/core/models-config.js';
import type { ModelInfo } from '../../src/core/types.js';
import { GatewayError } from '../../src/errors.js';

interface LogLine { level: number; msg: string; [field: string]: unknown }

function recordingLog(): { log: pino.Logger; lines: LogLine[]; warnings: () => string[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, warnings: () => lines.filter((line) => line.level === 40).map((line) => line.msg) };
}

/** A backend whose list (or failure) the test switches. */
function backend(name: string, ids: string[]): BackendAdapter & { ids: string[]; failing: boolean } {
  const adapter = {
    name,
    ids,
    failing: false,
    async listModels(): Promise<ModelInfo[]> {
      if (adapter.failing) throw new GatewayError('UPSTREAM_UNAVAILABLE', `cannot reach ${name}`);
      return adapter.ids.map((id) => ({ id, backend: name, capabilities: ['completion'], contextLength: 1000 }));
    },
    streamChat: () => Promise.reject(new Error('unused')),
    embed: () => Promise.reject(new Error('unused')),
    close: async () => undefined,
  };
  return adapter;
}

const IDS = ['openai/gpt-4o', 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'deepseek/deepseek-chat-v3:free', 'qwen/qwen3-coder'];

describe('closest name', () => {
  it('suggests a near name, never a far one', () => {
    expect(closestName('temprature', ['temperature', 'top_p'])).toBe('temperature');
    expect(closestName('gtp-4o', ['gpt-4o', 'gpt-4o-mini'])).toBe('gpt-4o');
    expect(closestName('opnai/gpt-4o', ['openai/gpt-4o', 'openai/gpt-4o-mini'])).toBe('openai/gpt-4o');
    expect(closestName('OpenAI/GPT-4o', ['openai/gpt-4o'])).toBe('openai/gpt-4o');
    expect(closestName('llama', ['openai/gpt-4o', 'mistral'])).toBeUndefined();
    expect(closestName('openai/gpt-5', ['openai/gpt-4o'])).toBeUndefined();
  });
});

describe('models config problems (parse)', () => {
  it('names the line and key path of an unknown option, with a did-you-mean', () => {
    const config = parseModelsConfig('models:\n  coder:\n    temprature: 0.2\n    num_gpu: 1\n    top_p: 0.5\n    wibble: 1\n');
    expect(config.problems).toEqual([
      'line 3 (models.coder.temprature): unknown option "temprature"; ignored; did you mean temperature?',
      'line 4 (models.coder.num_gpu): "num_gpu" is an Ollama runtime option that changes nothing here; ignored',
      'line 6 (models.coder.wibble): unknown option "wibble"; ignored',
    ]);
    // What is understood still applies.
    expect(config.defaults.get('coder:latest')).toEqual({ sampling: { topP: 0.5 } });
  });

  it('finds the lines in a JSON file too, and says when two keys are one model', () => {
    const config = parseModelsConfig('{\n  "models": {\n    "GPT-4o": {"temperature": 1},\n    "gpt-4o": {"temperatur": 0}\n  }\n}\n');
    expect(config.problems).toEqual([
      'line 4 (models.gpt-4o): the same model as line 3 (models.GPT-4o); this one is used',
      'line 4 (models.gpt-4o.temperatur): unknown option "temperatur"; ignored; did you mean temperature?',
    ]);
    expect(parseModelsConfig('models:\n  m:\n    temperature: 0.1\n    think: false\n    num_ctx: 10\n').problems).toEqual([]);
  });
});

describe('catalog configuration warnings', () => {
  it('names each filter entry that matches no model, with its line and a did-you-mean', async () => {
    const { log, lines, warnings } = recordingLog();
    const catalog = new ModelCatalog({ adapters: [backend('openrouter', IDS)], ttlSeconds: 600, log });
    catalog.setFilter(parseModelFilter('openai/gpt-4o\nopnai/gpt-4o-mini\n# comment\ngtp-4o\n!anthropic/claude-sonet-4.5\nopnai/*\n*:free\nnobody/*\n'), '/etc/filter.txt');
    await catalog.refresh();
    expect(warnings()).toEqual([
      'models filter /etc/filter.txt line 2: "opnai/gpt-4o-mini" matches no model; did you mean openai/gpt-4o-mini?',
      'models filter /etc/filter.txt line 4: "gtp-4o" matches no model; did you mean gpt-4o?',
      'models filter /etc/filter.txt line 5: "!anthropic/claude-sonet-4.5" matches no model; did you mean !anthropic/claude-sonnet-4.5?',
      'models filter /etc/filter.txt line 6: "opnai/*" matches no model; did you mean openai/*?',
      'models filter /etc/filter.txt line 8: "nobody/*" matches no model',
    ]);
    expect(lines.find((line) => line.msg.includes('line 2:'))).toMatchObject({ path: '/etc/filter.txt', line: 2, entry: 'opnai/gpt-4o-mini' });
  });

  it('warns (not info) when the filter serves nothing', async () => {
    const { log, lines, warnings } = recordingLog();
    const catalog = new ModelCatalog({ adapters: [backend('openrouter', IDS)], ttlSeconds: 600, log });
    catalog.setFilter(parseModelFilter('opnai/*\n'), 'filter.txt');
    await catalog.refresh();
    expect(warnings()).toEqual([
      'models filter filter.txt line 1: "opnai/*" matches no model; did you mean openai/*?',
      'models filter filter.txt serves no model: none of the 5 models the backends list passes it',
    ]);
    expect(lines.filter((line) => line.msg.startsWith('serving'))).toEqual([]);
  });

  it('names overrides and aliases that name no model, by key path and line', async () => {
    const { log, lines, warnings } = recordingLog();
    const catalog = new ModelCatalog({ adapters: [backend('openrouter', IDS)], ttlSeconds: 600, log });
    catalog.setFilter(parseModelFilter('!qwen/*\n'), 'filter.txt');
    catalog.setModelsConfig(parseModelsConfig([
      'aliases:',
      '  coder: qwen/qwen3-coder', // hidden by the filter
      '  fast: gpt-4o-mni', // a typo
      '  openai/gpt-4o: anthropic/claude-sonnet-4.5', // a model's name
      'models:',
      '  gtp-4o:', // a typo
      '    temperature: 0.1',
      '  gpt-4o:', // a short name: fine
      '    temperature: 0.2',
      '  qwen/qwen3-coder:', // hidden, not a typo
      '    temperature: 0.3',
      '  fast:', // the alias that is not listed: said once, above
      '    top_p: 0.5',
    ].join('\n')), 'models.yaml');
    await catalog.refresh();
    expect(warnings()).toEqual([
      'models config models.yaml line 2 (aliases.coder): "qwen/qwen3-coder" is hidden by the models filter, so the alias is not listed',
      'models config models.yaml line 3 (aliases.fast): "gpt-4o-mni" names no model, so the alias is not listed; did you mean gpt-4o-mini?',
      'models config models.yaml line 4 (aliases.openai/gpt-4o): "openai/gpt-4o" is also a model\'s name; the model wins',
      'models config models.yaml line 6 (models.gtp-4o): names no model and no alias, so it applies to nothing; did you mean gpt-4o?',
    ]);
    expect(lines.find((line) => line.msg.includes('models.gtp-4o'))).toMatchObject({ path: 'models.yaml', line: 6, key: 'models.gtp-4o' });
  });

  it('says it once per reload, not once per refresh; again when the catalog changes the answer', async () => {
    const { log, warnings } = recordingLog();
    const openRouter = backend('openrouter', [...IDS]);
    let now = 0;
    const catalog = new ModelCatalog({ adapters: [openRouter], ttlSeconds: 1, log, now: () => now });
    catalog.setFilter(parseModelFilter('openai/gpt-4o\nopenai/gpt-5\n'), 'filter.txt');
    await catalog.refresh();
    const first = ['models filter filter.txt line 2: "openai/gpt-5" matches no model'];
    expect(warnings()).toEqual(first);
    for (let refresh = 0; refresh < 5; refresh++) {
      now += 2_000;
      await catalog.refresh();
      await catalog.resolve('gpt-4o');
    }
    expect(warnings()).toEqual(first);

    // The same file read again (a reload): said again.
    catalog.setFilter(parseModelFilter('openai/gpt-4o\nopenai/gpt-5\n'), 'filter.txt');
    expect(warnings()).toEqual([...first, ...first]);

    // The backend starts listing the model: the entry is fine now, nothing more to say.
    openRouter.ids.push('openai/gpt-5');
    now += 2_000;
    await catalog.refresh();
    expect(warnings()).toHaveLength(2);
    // It disappears again: that changes the answer, so it is said again.
    openRouter.ids.pop();
    now += 2_000;
    await catalog.refresh();
    expect(warnings()).toEqual([...first, ...first, ...first]);
  });

  it('waits for every backend to answer, and says which one has listed nothing when one fails', async () => {
    const { log, warnings } = recordingLog();
    const ollama = backend('ollama', ['llama3.2:latest']);
    const openRouter = backend('openrouter', IDS);
    ollama.failing = true;
    const catalog = new ModelCatalog({ adapters: [openRouter, ollama], ttlSeconds: 600, log, random: () => 0 });
    catalog.setFilter(parseModelFilter('openai/*\nllama3.2\n'), 'filter.txt');
    await catalog.refresh();
    expect(warnings().filter((line) => line.startsWith('models filter'))).toEqual(['models filter filter.txt line 2: "llama3.2" matches no model (ollama has not listed models yet)']);

    // A pending backend is not judged: the check waits for its first answer.
    const { log: log2, warnings: warnings2 } = recordingLog();
    let answer!: () => void;
    const slow = Object.assign(backend('ollama', ['llama3.2:latest']), {});
    const listModels = slow.listModels.bind(slow);
    slow.listModels = () => new Promise<ModelInfo[]>((resolve) => (answer = () => resolve(listModels())));
    const waiting = new ModelCatalog({ adapters: [backend('openrouter', IDS), slow], ttlSeconds: 600, log: log2 });
    waiting.setFilter(parseModelFilter('openai/*\nllama3.2\n'), 'filter.txt');
    const refreshed = waiting.refresh();
    await waiting.snapshot();
    expect(warnings2()).toEqual([]);
    answer();
    await refreshed;
    expect(warnings2()).toEqual([]);
  });
});
