/**
 * OpenRouter's /models payload → ModelInfo. Pure. Entries that do not parse are skipped
 * (and counted) instead of failing the whole catalog.
 */
import { OpenRouterModel } from '#schemas/openrouter.js';
import type { Capability, ModelInfo } from '../../core/types.js';

export interface ParsedModels {
  models: ModelInfo[];
  skipped: number;
}

export function toModelInfos(entries: unknown[], backend: string): ParsedModels {
  const models: ModelInfo[] = [];
  let skipped = 0;
  for (const entry of entries) {
    const parsed = OpenRouterModel.safeParse(entry);
    if (!parsed.success) {
      skipped++;
      continue;
    }
    models.push(toModelInfo(parsed.data, backend));
  }
  return { models, skipped };
}

export function toModelInfo(model: OpenRouterModel, backend: string): ModelInfo {
  const outputs = model.architecture?.output_modalities ?? [];
  const inputs = model.architecture?.input_modalities ?? [];
  const parameters = model.supported_parameters ?? [];
  const capabilities: Capability[] = [];
  const isEmbedding = outputs.includes('embeddings');
  if (isEmbedding) {
    capabilities.push('embedding');
  } else {
    capabilities.push('completion');
    if (parameters.includes('tools')) capabilities.push('tools');
    if (inputs.includes('image')) capabilities.push('vision');
    if (parameters.includes('reasoning') || parameters.includes('include_reasoning')) capabilities.push('thinking');
  }
  const info: ModelInfo = {
    id: model.id,
    backend,
    capabilities,
    family: familyOf(model),
  };
  if (model.name) info.displayName = model.name;
  const contextLength = model.context_length ?? model.top_provider?.context_length;
  if (typeof contextLength === 'number' && contextLength > 0) info.contextLength = contextLength;
  if (typeof model.created === 'number') info.createdAt = model.created;
  if (model.description) info.description = model.description;
  const parameterSize = parameterSizeOf(model);
  if (parameterSize !== undefined) info.parameterSize = parameterSize;
  return info;
}

/** A family name in the spirit of GGUF's `general.architecture`: the tokenizer, else the vendor. */
function familyOf(model: OpenRouterModel): string {
  const tokenizer = model.architecture?.tokenizer;
  if (tokenizer && tokenizer !== 'Other' && tokenizer !== 'Router') return tokenizer.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const vendor = model.id.split('/')[0] ?? 'openrouter';
  return vendor.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'openrouter';
}

/** "70B", "8x7B", "1.5B" from the id or name, when the model says it. */
function parameterSizeOf(model: OpenRouterModel): string | undefined {
  const text = `${model.id} ${model.name ?? ''}`;
  const match = /(?:^|[^a-z0-9.])(\d+x)?(\d+(?:\.\d+)?)([bm])(?![a-z0-9])/i.exec(text);
  if (!match) return undefined;
  return `${match[1] ?? ''}${match[2]}${match[3]!.toUpperCase()}`;
}
