/**
 * Catalog entries → OpenAI's model objects (/v1/models, /v1/models/{model}). Pure.
 * `id` is the listed (Ollama) name, `created` the model's unix time, `owned_by` its namespace,
 * as Ollama answers. An empty catalog lists `data: []` (Ollama sends null, which breaks
 * clients that iterate it).
 */
import type { CatalogEntry } from '../../core/model-catalog.js';

export interface OpenAiModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** The namespace of `vendor/model` (the segment before the model), `library` when there is none. */
export function ownerOf(id: string): string {
  const parts = id.split('/');
  return parts.length > 1 ? parts[parts.length - 2]! || 'library' : 'library';
}

export function modelObject(entry: CatalogEntry, id: string = entry.name): OpenAiModelObject {
  return { id, object: 'model', created: entry.info.createdAt ?? 0, owned_by: ownerOf(entry.info.id) };
}

/** The whole /v1/models body, newest first (as /api/tags). Built once per catalog snapshot. */
export function modelListBody(entries: readonly CatalogEntry[]): string {
  const sorted = [...entries].sort((left, right) => (right.info.createdAt ?? 0) - (left.info.createdAt ?? 0));
  return JSON.stringify({ object: 'list', data: sorted.map((entry) => modelObject(entry)) });
}
