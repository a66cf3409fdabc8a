/**
 * /api/show over real HTTP: `parameters` (and the Modelfile) list the effective overrides from
 * the models config in Ollama's `name value` layout, and a model's family comes from its
 * vendor and name, not from OpenRouter's tokenizer label.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama } from 'ollama';
import { DEFAULT_MODELS, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;

const MODELS_CONFIG = `
aliases:
  coder: qwen/qwen3-coder
models:
  qwen/qwen3-coder:
    num_ctx: 32768
    temperature: 0.2
    num_predict: 2048
    top_p: 0.9
    stop: ["<|im_end|>", "END"]
    think: false
  coder:
    temperature: 0.7
`;

async function show(model: string): Promise<any> {
  const response = await request(`${gateway.url}/api/show`, { method: 'POST', body: JSON.stringify({ model }) });
  expect(response.statusCode).toBe(200);
  return response.body.json();
}

beforeAll(async () => {
  fake = await startFakeOpenRouter({
    models: [
      ...DEFAULT_MODELS,
      { id: 'google/gemma-3-27b-it', name: 'Google: Gemma 3 27B', context_length: 131072, created: 1741756800, tokenizer: 'Gemini' },
      { id: 'google/gemini-2.5-pro', name: 'Google: Gemini 2.5 Pro', context_length: 1048576, created: 1750169544, tokenizer: 'Gemini' },
      { id: 'qwen/qwen3-coder', name: 'Qwen: Qwen3 Coder', context_length: 262144, tools: true, created: 1753230546, tokenizer: 'Qwen3' },
    ],
  });
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-show-'));
  const path = join(directory, 'models.yaml');
  writeFileSync(path, MODELS_CONFIG);
  gateway = await startGateway(fake.baseUrl, { MODELS_CONFIG: path });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('/api/show parameters', () => {
  it('lists every override of the models config as Ollama lays parameters out', async () => {
    const body = await show('qwen/qwen3-coder');
    expect(body.parameters.split('\n')).toEqual([
      `${'num_ctx'.padEnd(30)} 32768`,
      `${'num_predict'.padEnd(30)} 2048`,
      `${'temperature'.padEnd(30)} 0.2`,
      `${'top_p'.padEnd(30)} 0.9`,
      `${'stop'.padEnd(30)} "<|im_end|>"`,
      `${'stop'.padEnd(30)} "END"`,
    ]);
    expect(body.modelfile).toContain('FROM qwen/qwen3-coder\nPARAMETER num_ctx 32768\nPARAMETER num_predict 2048\nPARAMETER temperature 0.2\nPARAMETER top_p 0.9\nPARAMETER stop "<|im_end|>"\nPARAMETER stop "END"\n');
  });

  it("shows an alias's own overrides", async () => {
    const body = await show('coder');
    expect(body.parameters.split('\n')).toEqual([`${'num_ctx'.padEnd(30)} 262144`, `${'temperature'.padEnd(30)} 0.7`]);
  });

  it('is only num_ctx for a model without overrides, and Continue-style parsing reads it', async () => {
    const body = await new Ollama({ host: gateway.url }).show({ model: 'openai/gpt-4o' });
    expect(body.parameters).toBe(`${'num_ctx'.padEnd(30)} 128000`);
    // Continue reads `num_ctx` and JSON-parses `stop` values from these lines.
    const coder = await show('qwen/qwen3-coder');
    const stops = [...(coder.parameters as string).matchAll(/^stop\s+(.+)$/gm)].map((match) => JSON.parse(match[1]!));
    expect(stops).toEqual(['<|im_end|>', 'END']);
  });
});

describe('model family', () => {
  it.each([
    ['google/gemma-3-27b-it', 'gemma3'],
    ['google/gemini-2.5-pro', 'gemini'],
    ['meta-llama/llama-3.3-70b-instruct', 'llama'],
    ['qwen/qwen3-coder', 'qwen3'],
    ['openai/gpt-4o', 'gpt'],
    ['deepseek/deepseek-r1', 'deepseek2'],
  ])('%s is %s in show, tags and model_info', async (id, family) => {
    const body = await show(id);
    expect(body.details).toMatchObject({ family, families: [family] });
    expect(body.model_info['general.architecture']).toBe(family);
    expect(body.model_info[`${family}.context_length`]).toBeGreaterThan(0);
    const tags = (await (await request(`${gateway.url}/api/tags`)).body.json()) as { models: Array<{ model: string; details: { family: string } }> };
    expect(tags.models.find((model) => model.model === `${id}:latest`)?.details.family).toBe(family);
  });
});
