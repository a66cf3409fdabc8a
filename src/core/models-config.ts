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
 *       fallbacks: [qwen/qwen3-32b, llama3]        # tried in order when this model fails before answering
 *       retries: 1                     # this model again first (default 0)
 *       provider: { sort: price }      # OpenRouter's provider routing for this model
 *   provider: { data_collection: deny }            # the default `provider` of every OpenRouter model
 *
 * Precedence: the client's request > the model's override > upstream defaults. Pure.
 */
import { LineCounter, isMap, isScalar, parseDocument, type Node } from 'yaml';
import { closestName, didYouMean } from './closest-name.js';
import { samplingFromOptions } from './ollama-options.js';
import { toReasoning } from './reasoning.js';
import { lookupKey } from './model-names.js';
import type { ModelPrice, ReasoningRequest, SamplingOptions } from './types.js';
import { ProviderPreferences } from '#schemas/provider-preferences.js';

export interface ModelDefaults {
  sampling: SamplingOptions;
  reasoning?: ReasoningRequest;
  /** `num_ctx`: the context length reported to clients is capped at this. */
  contextLength?: number;
}

/** What to do when a model fails before it answers (core/upstream-tries.ts), and OpenRouter's routing for it. */
export interface ModelRouting {
  /** Models to try in order, names as written (an id, alias or short name). */
  fallbacks: readonly string[];
  /** Tries of the same model after its first one fails. */
  retries: number;
  /** OpenRouter's `provider` object: the model's own fields over the file's default. */
  provider?: Readonly<Record<string, unknown>>;
}

/** The most `retries` a model may have: each is a full upstream call. */
export const MAX_RETRIES = 5;

export interface ModelsConfig {
  /** alias lookup key → target model name, as written. */
  aliases: Map<string, { alias: string; target: string }>;
  /** lookup key of an id, alias or short name → its defaults. */
  defaults: Map<string, ModelDefaults>;
  /** lookup key of an id, alias or short name → its price (`price:`), which wins over the backend's. */
  prices: Map<string, ModelPrice>;
  /** lookup key of an id, alias or short name → its fallbacks, retries and provider routing. */
  routing: Map<string, ModelRouting>;
  /** The top-level `provider`: every OpenRouter model's routing unless its own says otherwise. */
  provider?: Readonly<Record<string, unknown>>;
  /** lookup key of an override → its name as written (`gtp-4o`), for the catalog's warnings. */
  overrideNames: Map<string, string>;
  /** Key path (`models.gtp-4o`, `aliases.coder`) → its line in the file. */
  lines: Map<string, number>;
  /** What was understood but looks wrong (an unknown option name): logged, never fatal. */
  problems: string[];
}

export const emptyModelsConfig: ModelsConfig = { aliases: new Map(), defaults: new Map(), prices: new Map(), routing: new Map(), overrideNames: new Map(), lines: new Map(), problems: [] };

/** The options an override may set that change something (Ollama's names). */
const EFFECTIVE_OPTIONS = [
  'temperature', 'top_p', 'top_k', 'min_p', 'seed', 'num_predict', 'stop',
  'repeat_penalty', 'presence_penalty', 'frequency_penalty', 'think', 'num_ctx',
];
/** Every key a model's entry may have: the options, and what is not an option (`fallback` → did you mean `fallbacks`?). */
const MODEL_KEYS = [...EFFECTIVE_OPTIONS, 'price', 'fallbacks', 'retries', 'provider'];
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
  const { aliases = {}, models = {}, provider: defaultProvider, ...unknownKeys } = document as Record<string, unknown>;
  const unknown = Object.keys(unknownKeys);
  if (unknown.length > 0) throw new Error(`unknown top-level key(s): ${unknown.join(', ')} (expected aliases, models, provider)`);
  const lines = keyLines(parsed.contents, (offset) => lineCounter.linePos(offset).line);
  const config: ModelsConfig = { aliases: new Map(), defaults: new Map(), prices: new Map(), routing: new Map(), overrideNames: new Map(), lines, problems: [] };
  if (defaultProvider !== undefined) config.provider = toProvider('provider', defaultProvider);
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
    const { price, fallbacks, retries, provider, ...settings } = asMapping(value ?? {}, `models.${name}`);
    const key = lookupKey(name);
    const earlier = config.overrideNames.get(key);
    if (earlier !== undefined) config.problems.push(`${where(`models.${name}`)}: the same model as ${where(`models.${earlier}`)}; this one is used`);
    for (const option of Object.keys(settings)) {
      if (EFFECTIVE_OPTIONS.includes(option)) continue;
      const path = `models.${name}.${option}`;
      config.problems.push(RUNTIME_ONLY_OPTIONS.has(option)
        ? `${where(path)}: "${option}" is an Ollama runtime option that changes nothing here; ignored`
        : `${where(path)}: unknown option "${option}"; ignored${didYouMean(closestName(option, MODEL_KEYS))}`);
    }
    if (price !== undefined) config.prices.set(key, toPrice(name, price));
    const routing = toRouting(name, fallbacks, retries, provider);
    if (routing !== undefined) config.routing.set(key, routing);
    // A price or routing changes no request body: such a model still passes through as it is.
    if ((price === undefined && routing === undefined) || Object.keys(settings).length > 0) config.defaults.set(key, toDefaults(name, settings));
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

/** `fallbacks`, `retries` and `provider` of one model; undefined when it sets none. */
function toRouting(name: string, fallbacks: unknown, retries: unknown, provider: unknown): ModelRouting | undefined {
  if (fallbacks === undefined && retries === undefined && provider === undefined) return undefined;
  if (fallbacks !== undefined && (!Array.isArray(fallbacks) || !fallbacks.every((entry) => typeof entry === 'string' && entry.trim() !== ''))) {
    throw new Error(`models.${name}.fallbacks must be a list of model names`);
  }
  if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES)) {
    throw new Error(`models.${name}.retries must be a whole number from 0 to ${MAX_RETRIES}`);
  }
  const routing: ModelRouting = { fallbacks: ((fallbacks ?? []) as string[]).map((entry) => entry.trim()), retries: retries ?? 0 };
  if (provider !== undefined) routing.provider = toProvider(`models.${name}.provider`, provider);
  return routing;
}

/** OpenRouter's `provider` object, checked field by field (schemas/provider-preferences.ts), kept as written. */
function toProvider(where: string, value: unknown): Record<string, unknown> {
  const checked = ProviderPreferences.safeParse(value);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const path = [where, ...issue.path.map(String)].join('.');
    const allowed = Object.keys(ProviderPreferences.shape).join(', ');
    const detail = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')} (expected ${allowed})` : issue.message;
    throw new Error(`${path}: ${detail}`);
  }
  return asMapping(value, where);
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
