/**
 * OpenRouter's /models payload → ModelInfo. Pure. Entries that do not parse are skipped
 * (and counted) instead of failing the whole catalog.
 */
import { OpenRouterModel } from '#schemas/openrouter.js';
import type { Capability, ModelInfo, ModelPrice } from '../../core/types.js';

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
  const price = priceOf(model.pricing);
  if (price !== undefined) info.price = price;
  return info;
}

/**
 * OpenRouter's `pricing` (USD per token, as decimal strings) → USD per million tokens. A
 * price it does not state as a number (`-1` for a router whose price depends on the model it
 * picks) is no price.
 */
function priceOf(pricing: Record<string, unknown> | null | undefined): ModelPrice | undefined {
  const perToken = (value: unknown): number | undefined => {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
    return Number.isFinite(number) && number >= 0 ? number : undefined;
  };
  const prompt = perToken(pricing?.prompt);
  const completion = perToken(pricing?.completion);
  if (prompt === undefined || completion === undefined) return undefined;
  return { prompt: prompt * 1_000_000, completion: completion * 1_000_000 };
}

/**
 * Open-weight model names → the family Ollama reports for them (GGUF's `general.architecture`),
 * first match wins. Matched against the model's name after the vendor, then its tokenizer.
 */
const FAMILIES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^gemma-?3n/, 'gemma3n'],
  [/^gemma-?3/, 'gemma3'],
  [/^gemma-?2/, 'gemma2'],
  [/^gemma/, 'gemma'],
  [/^(?:meta-)?llama-?4/, 'llama4'],
  [/^(?:meta-|code)?llama/, 'llama'],
  [/^qwen-?3-?vl/, 'qwen3vl'],
  [/^qwen-?3/, 'qwen3'],
  [/^qwen-?2\.?5-?vl/, 'qwen25vl'],
  [/^(?:qwen|qwq)/, 'qwen2'],
  [/^deepseek-r1-distill-qwen/, 'qwen2'],
  [/^deepseek-r1-distill-llama/, 'llama'],
  [/^deepseek/, 'deepseek2'],
  [/^gpt-oss/, 'gptoss'],
  [/^phi-?[34]/, 'phi3'],
  [/^phi/, 'phi2'],
  [/^(?:mistral-small-3|magistral|devstral)/, 'mistral3'],
  [/^(?:mistral|ministral|codestral|mixtral|pixtral)/, 'mistral'],
  [/^command-?r/, 'command-r'],
  [/^granite/, 'granite'],
  [/^olmo/, 'olmo2'],
  [/^glm-?4/, 'glm4'],
];

/**
 * A family in the spirit of GGUF's `general.architecture`, from the model's vendor and name
 * (`google/gemma-3-27b-it` is `gemma3`, though OpenRouter names Gemini as its tokenizer): a
 * known open-weight name, else the tokenizer (`GPT` → `gpt`, `Claude` → `claude`), else the vendor.
 */
export function familyOf(model: Pick<OpenRouterModel, 'id' | 'architecture'>): string {
  const slash = model.id.indexOf('/');
  const name = model.id.slice(slash + 1).toLowerCase();
  const tokenizer = model.architecture?.tokenizer;
  const known = knownFamily(name) ?? (tokenizer ? knownFamily(tokenizer.toLowerCase()) : undefined);
  if (known !== undefined) return known;
  if (tokenizer && tokenizer !== 'Other' && tokenizer !== 'Router') return tokenizer.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const vendor = slash > 0 ? model.id.slice(0, slash) : 'openrouter';
  return vendor.toLowerCase().replace(/[^a-z0-9]+/g, '') || 'openrouter';
}

function knownFamily(name: string): string | undefined {
  for (const [pattern, family] of FAMILIES) if (pattern.test(name)) return family;
  return undefined;
}

/** "70B", "8x7B", "1.5B" from the id or name, when the model says it. */
function parameterSizeOf(model: OpenRouterModel): string | undefined {
  const text = `${model.id} ${model.name ?? ''}`;
  const match = /(?:^|[^a-z0-9.])(\d+x)?(\d+(?:\.\d+)?)([bm])(?![a-z0-9])/i.exec(text);
  if (!match) return undefined;
  return `${match[1] ?? ''}${match[2]}${match[3]!.toUpperCase()}`;
}
