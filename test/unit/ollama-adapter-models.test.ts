import { describe, expect, it } from 'vitest';
import { modelNameOf, tagsEntriesOf, toModelInfo, toModelInfos } from '../../src/adapters/ollama/models.js';

const llamaTags = {
  name: 'llama3.2:latest',
  model: 'llama3.2:latest',
  modified_at: '2025-05-04T17:37:44.706015396-07:00',
  size: 2019393189,
  digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
  details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
};

const llamaShow = {
  details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '3.2B', quantization_level: 'Q4_K_M' },
  model_info: { 'general.architecture': 'llama', 'general.basename': 'Llama-3.2', 'llama.context_length': 131072, 'llama.embedding_length': 3072 },
  capabilities: ['completion', 'tools'],
  modified_at: '2025-05-04T17:37:44.706015396-07:00',
};

// 2025-05-04T17:37:44.706-07:00 = 2025-05-05T00:37:44.706Z
const LLAMA_MODIFIED = Date.UTC(2025, 4, 5, 0, 37, 44) / 1000;

describe('toModelInfo', () => {
  it('combines a tags entry with its show answer', () => {
    expect(toModelInfo(llamaTags, llamaShow, 'ollama')).toEqual({
      id: 'llama3.2:latest',
      backend: 'ollama',
      capabilities: ['completion', 'tools'],
      family: 'llama',
      parameterSize: '3.2B',
      quantization: 'Q4_K_M',
      contextLength: 131072,
      createdAt: LLAMA_MODIFIED,
    });
  });

  it('keeps the name exactly as listed, namespaces and hosts included', () => {
    expect(toModelInfo({ ...llamaTags, name: 'hf.co/org/Repo-GGUF:Q4_K_M', model: 'hf.co/org/Repo-GGUF:Q4_K_M' }, undefined, 'ollama').id).toBe('hf.co/org/Repo-GGUF:Q4_K_M');
    expect(modelNameOf({ model: 'only-model:tag' })).toBe('only-model:tag');
  });

  it('takes the architecture’s context length from model_info, not another architecture’s', () => {
    const show = { ...llamaShow, model_info: { 'general.architecture': 'qwen3', 'qwen3.context_length': 40960, 'clip.context_length': 77 } };
    expect(toModelInfo(llamaTags, show, 'ollama').contextLength).toBe(40960);
  });

  it('uses a lone *.context_length key when model_info names no architecture', () => {
    expect(toModelInfo(llamaTags, { model_info: { 'bert.context_length': 512 } }, 'ollama').contextLength).toBe(512);
    expect(toModelInfo(llamaTags, { model_info: { 'a.context_length': 1, 'b.context_length': 2 } }, 'ollama').contextLength).toBeUndefined();
  });

  it('falls back to details.context_length (tags 0.30+) when model_info has none', () => {
    const tags = { ...llamaTags, details: { ...llamaTags.details, context_length: 8192 } };
    expect(toModelInfo(tags, { model_info: {} }, 'ollama').contextLength).toBe(8192);
    expect(toModelInfo(tags, undefined, 'ollama').contextLength).toBe(8192);
    expect(toModelInfo(llamaTags, undefined, 'ollama').contextLength).toBeUndefined();
  });

  it('prefers show capabilities, then tags capabilities (0.30+), then completion alone', () => {
    const tags = { ...llamaTags, capabilities: ['completion', 'vision'] };
    expect(toModelInfo(tags, llamaShow, 'ollama').capabilities).toEqual(['completion', 'tools']);
    expect(toModelInfo(tags, { model_info: {} }, 'ollama').capabilities).toEqual(['completion', 'vision']);
    expect(toModelInfo(tags, undefined, 'ollama').capabilities).toEqual(['completion', 'vision']);
    expect(toModelInfo(llamaTags, undefined, 'ollama').capabilities).toEqual(['completion']);
  });

  it('keeps only capabilities the gateway knows, and an embedding model stays embedding-only', () => {
    expect(toModelInfo(llamaTags, { capabilities: ['completion', 'insert', 'tools', 'thinking', 'audio'] }, 'ollama').capabilities).toEqual(['completion', 'tools', 'thinking']);
    expect(toModelInfo(llamaTags, { capabilities: ['embedding'] }, 'ollama').capabilities).toEqual(['embedding']);
    expect(toModelInfo(llamaTags, { capabilities: ['insert'] }, 'ollama').capabilities).toEqual(['completion']);
  });

  it('reads modified_at with a 9-digit fraction and an offset, and ignores Go’s zero time', () => {
    expect(toModelInfo({ name: 'a:b', modified_at: '2026-01-02T03:04:05.123456789Z' }, undefined, 'ollama').createdAt).toBe(Date.UTC(2026, 0, 2, 3, 4, 5) / 1000);
    expect(toModelInfo({ name: 'a:b', modified_at: '0001-01-01T00:00:00Z' }, undefined, 'ollama')).not.toHaveProperty('createdAt');
    expect(toModelInfo({ name: 'a:b', modified_at: 'yesterday' }, undefined, 'ollama')).not.toHaveProperty('createdAt');
  });

  it('leaves out empty details instead of inventing them', () => {
    const info = toModelInfo({ name: 'gpt-oss:120b-cloud', details: { format: '', family: '', families: null, parameter_size: '', quantization_level: '' } }, undefined, 'ollama');
    expect(info).toEqual({ id: 'gpt-oss:120b-cloud', backend: 'ollama', capabilities: ['completion'] });
  });
});

describe('toModelInfos and tagsEntriesOf', () => {
  it('lists every named entry, pairing each with its show answer by name, and counts the rest as skipped', () => {
    const entries = [llamaTags, { model: 'nomic-embed-text:latest' }, { size: 1 }, 'junk'];
    const shows = new Map<string, unknown>([['nomic-embed-text:latest', { capabilities: ['embedding'], model_info: { 'general.architecture': 'nomic-bert', 'nomic-bert.context_length': 2048 } }]]);
    const parsed = toModelInfos(entries, shows, 'ollama');
    expect(parsed.skipped).toBe(2);
    expect(parsed.models.map((model) => [model.id, model.capabilities, model.contextLength])).toEqual([
      ['llama3.2:latest', ['completion'], undefined],
      ['nomic-embed-text:latest', ['embedding'], 2048],
    ]);
  });

  it('reads the models list of a tags answer', () => {
    expect(tagsEntriesOf({ models: [llamaTags] })).toEqual([llamaTags]);
    expect(tagsEntriesOf({ models: [] })).toEqual([]);
    expect(tagsEntriesOf({ models: null })).toEqual([]);
    expect(tagsEntriesOf({ data: [] })).toBeUndefined();
    expect(tagsEntriesOf('nope')).toBeUndefined();
  });
});
