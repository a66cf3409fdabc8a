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
 *
 * Precedence: the client's request > the model's override > upstream defaults. Pure.
 */
import { parse as parseYaml } from 'yaml';
import { samplingFromOptions, toReasoning } from './ollama-options.js';
import { lookupKey } from './model-names.js';
import type { ReasoningRequest, SamplingOptions } from './types.js';

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
}

export const emptyModelsConfig: ModelsConfig = { aliases: new Map(), defaults: new Map() };

export function parseModelsConfig(text: string): ModelsConfig {
  const document: unknown = text.trim() === '' ? {} : parseYaml(text); // YAML is a superset of JSON
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error('expected a mapping with `aliases` and/or `models`');
  }
  const { aliases = {}, models = {}, ...unknownKeys } = document as Record<string, unknown>;
  const unknown = Object.keys(unknownKeys);
  if (unknown.length > 0) throw new Error(`unknown top-level key(s): ${unknown.join(', ')} (expected aliases, models)`);
  const config: ModelsConfig = { aliases: new Map(), defaults: new Map() };

  for (const [alias, target] of Object.entries(asMapping(aliases, 'aliases'))) {
    if (typeof target !== 'string' || target.trim() === '') throw new Error(`alias "${alias}" must name a model`);
    config.aliases.set(lookupKey(alias), { alias, target: target.trim() });
  }
  for (const [name, settings] of Object.entries(asMapping(models, 'models'))) {
    config.defaults.set(lookupKey(name), toDefaults(name, asMapping(settings ?? {}, `models.${name}`)));
  }
  return config;
}

function toDefaults(name: string, settings: Record<string, unknown>): ModelDefaults {
  const { think, num_ctx: contextLength, ...options } = settings;
  let defaults: ModelDefaults;
  try {
    defaults = { sampling: samplingFromOptions(options) };
    const reasoning = toReasoning(think as boolean | string | null | undefined);
    if (reasoning !== undefined) defaults.reasoning = reasoning;
  } catch (error) {
    throw new Error(`models.${name}: ${(error as Error).message}`);
  }
  if (contextLength !== undefined) {
    if (typeof contextLength !== 'number' || !Number.isInteger(contextLength) || contextLength <= 0) {
      throw new Error(`models.${name}.num_ctx must be a positive integer`);
    }
    defaults.contextLength = contextLength;
  }
  return defaults;
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
