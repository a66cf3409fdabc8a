/**
 * The models config (`--models-config`, JSON or YAML): aliases and per-model overrides.
 *
 *   aliases:
 *     coder: qwen/qwen3-coder          # `coder` is listed and served like a model
 *   models:
 *     qwen/qwen3-coder:                # an id, an alias, or a short name
 *       num_ctx: 32768                 # caps the context length /api/show reports
 *       temperature: 0.2               # any Ollama option: the default when a request has none
 *       num_predict: 2048
 *       think: false
 *       price: { prompt: 0.2, completion: 0.6 }   # USD per million tokens, for the usage record
 *
 * Precedence: the client's request > the model's override > upstream defaults. Pure.
 */
import { LineCounter, isMap, isScalar, parseDocument, type Node } from 'yaml';
import { closestName, didYouMean } from './closest-name.js';
import { samplingFromOptions } from './ollama-options.js';
import { toReasoning } from './reasoning.js';
import { lookupKey } from './model-names.js';
import type { ModelPrice, ReasoningRequest, SamplingOptions } from './types.js';

export interface ModelDefaults {
  sampling: SamplingOptions;
  reasoning?: ReasoningRequest;
  /** `num_ctx`: the context length reported to clients is capped at this. */
  contextLength?: number;
}

export interface ModelsConfig {
  /** alias lookup key → target model name, as written. */
  aliases: Map<string, { alias: string; target: string }>;
  /** lookup key of an id, alias or short name → its defaults. */
  defaults: Map<string, ModelDefaults>;
  /** lookup key of an id, alias or short name → its price (`price:`), which wins over the backend's. */
  prices: Map<string, ModelPrice>;
  /** lookup key of an override → its name as written (`gtp-4o`), for the catalog's warnings. */
  overrideNames: Map<string, string>;
  /** Key path (`models.gtp-4o`, `aliases.coder`) → its line in the file. */
  lines: Map<string, number>;
  /** What was understood but looks wrong (an unknown option name): logged, never fatal. */
  problems: string[];
}

export const emptyModelsConfig: ModelsConfig = { aliases: new Map(), defaults: new Map(), prices: new Map(), overrideNames: new Map(), lines: new Map(), problems: [] };

/** The options an override may set that change something (Ollama's names). */
const EFFECTIVE_OPTIONS = [
  'temperature', 'top_p', 'top_k', 'min_p', 'seed', 'num_predict', 'stop',
  'repeat_penalty', 'presence_penalty', 'frequency_penalty', 'think', 'num_ctx',
];
/** Ollama's options that only a local runtime uses: accepted, but they change nothing here. */
const RUNTIME_ONLY_OPTIONS = new Set([
  'num_keep', 'typical_p', 'repeat_last_n', 'num_batch', 'num_gpu', 'main_gpu', 'use_mmap', 'num_thread', 'draft_num_predict',
  'mirostat', 'mirostat_eta', 'mirostat_tau', 'tfs_z', 'penalize_newline', 'numa', 'low_vram', 'f16_kv', 'vocab_only',
  'use_mlock', 'num_gqa', 'logits_all', 'embedding_only',
]);

/**
 * Parses the file. Throws on what cannot be used at all (not a mapping, a bad value);
 * returns `problems` for what is skipped (unknown or runtime-only option names, two keys for
 * one model), each naming its line and key path.
 */
export function parseModelsConfig(text: string): ModelsConfig {
  const lineCounter = new LineCounter();
  const parsed = parseDocument(text, { lineCounter }); // YAML is a superset of JSON
  if (parsed.errors.length > 0) throw parsed.errors[0]!;
  const document: unknown = text.trim() === '' ? {} : parsed.toJS();
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error('expected a mapping with `aliases` and/or `models`');
  }
  const { aliases = {}, models = {}, ...unknownKeys } = document as Record<string, unknown>;
  const unknown = Object.keys(unknownKeys);
  if (unknown.length > 0) throw new Error(`unknown top-level key(s): ${unknown.join(', ')} (expected aliases, models)`);
  const lines = keyLines(parsed.contents, (offset) => lineCounter.linePos(offset).line);
  const config: ModelsConfig = { aliases: new Map(), defaults: new Map(), prices: new Map(), overrideNames: new Map(), lines, problems: [] };
  const where = (path: string): string => {
    const line = lines.get(path);
    return line === undefined ? path : `line ${line} (${path})`;
  };

  for (const [alias, target] of Object.entries(asMapping(aliases, 'aliases'))) {
    if (typeof target !== 'string' || target.trim() === '') throw new Error(`alias "${alias}" must name a model`);
    config.aliases.set(lookupKey(alias), { alias, target: target.trim() });
  }
  for (const [name, value] of Object.entries(asMapping(models, 'models'))) {
    // A price changes no request: a model with only a price still passes through as it is.
    const { price, ...settings } = asMapping(value ?? {}, `models.${name}`);
    const key = lookupKey(name);
    const earlier = config.overrideNames.get(key);
    if (earlier !== undefined) config.problems.push(`${where(`models.${name}`)}: the same model as ${where(`models.${earlier}`)}; this one is used`);
    for (const option of Object.keys(settings)) {
      if (EFFECTIVE_OPTIONS.includes(option)) continue;
      const path = `models.${name}.${option}`;
      config.problems.push(RUNTIME_ONLY_OPTIONS.has(option)
        ? `${where(path)}: "${option}" is an Ollama runtime option that changes nothing here; ignored`
        : `${where(path)}: unknown option "${option}"; ignored${didYouMean(closestName(option, EFFECTIVE_OPTIONS))}`);
    }
    if (price !== undefined) config.prices.set(key, toPrice(name, price));
    if (price === undefined || Object.keys(settings).length > 0) config.defaults.set(key, toDefaults(name, settings));
    config.overrideNames.set(key, name);
  }
  return config;
}

/** The line of every key down to `models.<name>.<option>`, by key path. */
function keyLines(root: Node | null, lineAt: (offset: number) => number): Map<string, number> {
  const lines = new Map<string, number>();
  const visit = (node: unknown, prefix: string, depth: number): void => {
    if (!isMap(node)) return;
    for (const pair of node.items) {
      if (!isScalar(pair.key) || pair.key.range === undefined || pair.key.range === null) continue;
      const path = `${prefix}${String(pair.key.value)}`;
      lines.set(path, lineAt(pair.key.range[0]));
      if (depth < 3) visit(pair.value, `${path}.`, depth + 1);
    }
  };
  visit(root, '', 1);
  return lines;
}

function toDefaults(name: string, settings: Record<string, unknown>): ModelDefaults {
  const { think, num_ctx: contextLength, ...options } = settings;
  let defaults: ModelDefaults;
  try {
    defaults = { sampling: samplingFromOptions(options) };
    const reasoning = toReasoning({ think: think as boolean | string | null | undefined });
    if (reasoning !== undefined) defaults.reasoning = reasoning;
  } catch (error) {
    throw new Error(`models.${name}: ${(error as Error).message}`, { cause: error });
  }
  if (contextLength !== undefined) {
    if (typeof contextLength !== 'number' || !Number.isInteger(contextLength) || contextLength <= 0) {
      throw new Error(`models.${name}.num_ctx must be a positive integer`);
    }
    defaults.contextLength = contextLength;
  }
  return defaults;
}

/** `price: { prompt, completion }`, each in USD per million tokens. */
function toPrice(name: string, value: unknown): ModelPrice {
  const { prompt, completion, ...unknownKeys } = asMapping(value, `models.${name}.price`);
  const unknown = Object.keys(unknownKeys);
  if (unknown.length > 0) throw new Error(`models.${name}.price: unknown key(s) ${unknown.join(', ')} (expected prompt, completion: USD per million tokens)`);
  for (const [field, amount] of [['prompt', prompt], ['completion', completion]] as const) {
    if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0) {
      throw new Error(`models.${name}.price.${field} must be a number of USD per million tokens, 0 or more`);
    }
  }
  return { prompt: prompt as number, completion: completion as number };
}

function asMapping(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

/** Fills what the client's request left unset with the model's configured defaults. */
export function applyModelDefaults<T extends { sampling: SamplingOptions; reasoning?: ReasoningRequest }>(
  request: T,
  defaults: ModelDefaults | undefined,
): T {
  if (defaults === undefined) return request;
  request.sampling = { ...defaults.sampling, ...definedOnly(request.sampling) };
  if (request.reasoning === undefined && defaults.reasoning !== undefined) request.reasoning = defaults.reasoning;
  return request;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
