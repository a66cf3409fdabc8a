/**
 * Ollama's `/api/tags` entries (plus, when fetched, each model's `/api/show` answer) →
 * ModelInfo. Pure. Narrowed with typeof checks: both payloads vary across Ollama versions
 * (tags gained `capabilities` and `details.context_length` in 0.30, show gained
 * `capabilities` in 0.6.4), so every field is optional here and an entry without a name is
 * skipped (and counted) instead of failing the list.
 */
import type { Capability, ModelInfo } from '../../core/types.js';

export interface ParsedModels {
  models: ModelInfo[];
  skipped: number;
}

type JsonRecord = Record<string, unknown>;

/** Ollama capability names the IR knows; `insert`, `image` and `audio` have no IR meaning. */
const KNOWN_CAPABILITIES = new Set<string>(['completion', 'tools', 'vision', 'thinking', 'embedding']);

/** The `models` list of a `/api/tags` answer, or undefined when the answer has none. */
export function tagsEntriesOf(payload: unknown): unknown[] | undefined {
  const models = asRecord(payload)?.models;
  // Ollama never sends null here, but an empty install is `[]`: both mean no models.
  if (models === null) return [];
  return Array.isArray(models) ? models : undefined;
}

/** The name a tags entry is listed and addressed by, e.g. `llama3.2:latest`. */
export function modelNameOf(entry: unknown): string | undefined {
  const record = asRecord(entry);
  const name = record?.name ?? record?.model;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Every tags entry, each with its show answer when `shows` has one (keyed by the listed name). */
export function toModelInfos(entries: unknown[], shows: ReadonlyMap<string, unknown>, backend: string): ParsedModels {
  const models: ModelInfo[] = [];
  let skipped = 0;
  for (const entry of entries) {
    const name = modelNameOf(entry);
    if (name === undefined) {
      skipped++;
      continue;
    }
    models.push(toModelInfo(entry, shows.get(name), backend));
  }
  return { models, skipped };
}

export function toModelInfo(entry: unknown, show: unknown, backend: string): ModelInfo {
  const tags = asRecord(entry) ?? {};
  const details = asRecord(tags.details);
  const showRecord = asRecord(show);
  const showDetails = asRecord(showRecord?.details);
  const info: ModelInfo = {
    id: modelNameOf(entry) ?? '',
    backend,
    // The show answer is the authority; the tags list carries capabilities only since 0.30.
    capabilities: capabilitiesOf(showRecord?.capabilities) ?? capabilitiesOf(tags.capabilities) ?? ['completion'],
  };
  const family = text(showDetails?.family) ?? text(details?.family);
  if (family !== undefined) info.family = family;
  const parameterSize = text(showDetails?.parameter_size) ?? text(details?.parameter_size);
  if (parameterSize !== undefined) info.parameterSize = parameterSize;
  const quantization = text(showDetails?.quantization_level) ?? text(details?.quantization_level);
  if (quantization !== undefined) info.quantization = quantization;
  const contextLength = contextLengthOf(asRecord(showRecord?.model_info)) ?? positive(showDetails?.context_length) ?? positive(details?.context_length);
  if (contextLength !== undefined) info.contextLength = contextLength;
  const createdAt = unixSeconds(tags.modified_at) ?? unixSeconds(showRecord?.modified_at);
  if (createdAt !== undefined) info.createdAt = createdAt;
  return info;
}

/** Known capabilities in Ollama's order; undefined when the field is absent or names none we know. */
function capabilitiesOf(value: unknown): Capability[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const capabilities = value.filter((item): item is Capability => typeof item === 'string' && KNOWN_CAPABILITIES.has(item));
  return capabilities.length > 0 ? [...new Set(capabilities)] : undefined;
}

/**
 * GGUF metadata: `<general.architecture>.context_length`. Without an architecture key (some
 * safetensors imports), a single `*.context_length` key is unambiguous enough to use.
 */
function contextLengthOf(modelInfo: JsonRecord | undefined): number | undefined {
  if (modelInfo === undefined) return undefined;
  const architecture = text(modelInfo['general.architecture']);
  if (architecture !== undefined) return positive(modelInfo[`${architecture}.context_length`]);
  const candidates = Object.keys(modelInfo).filter((key) => key.endsWith('.context_length'));
  return candidates.length === 1 ? positive(modelInfo[candidates[0]!]) : undefined;
}

/** RFC 3339 with any fraction and offset (Ollama sends nanoseconds and local time) → Unix seconds. */
function unixSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const milliseconds = Date.parse(value);
  // Go's zero time (0001-01-01) means "unknown", not a date to show.
  if (!Number.isFinite(milliseconds) || milliseconds <= 0) return undefined;
  return Math.floor(milliseconds / 1000);
}

function asRecord(value: unknown): JsonRecord | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonRecord) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
