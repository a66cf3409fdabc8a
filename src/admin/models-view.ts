/**
 * The Models view: every model the backends list (the ones the models filter hides included,
 * as not served), its price, context length and capabilities as /api/tags and /api/show say
 * them, the filter line that decides it, and the keys that may use it.
 */
import { keyAllowsModel, type KeyRecord } from '../auth/api-keys.js';
import type { CatalogEntry, ModelCatalog } from '../core/model-catalog.js';
import { decidingRule, type ModelFilter } from '../core/model-filter.js';
import { listedName, lookupKey } from '../core/model-names.js';
import type { ModelInfo, ModelPrice } from '../core/types.js';
import { contextLengthOf } from '../frontends/ollama/models.js';
import type { AdminModel } from './api-types.js';

export async function adminModels(catalog: ModelCatalog, keys: readonly KeyRecord[]): Promise<AdminModel[]> {
  const snapshot = await catalog.snapshot();
  const filter = catalog.modelFilter;
  const models = snapshot.entries.map((entry) => servedModel(entry, filter, keys));
  const listed = new Set(snapshot.byKey.keys());
  for (const info of catalog.backendModels()) {
    const name = listedName(info.id);
    if (listed.has(lookupKey(name)) || filter.allows(info.id)) continue;
    listed.add(lookupKey(name));
    models.push(hiddenModel(info, name, filter, keys));
  }
  return models;
}

function servedModel(entry: CatalogEntry, filter: ModelFilter, keys: readonly KeyRecord[]): AdminModel {
  const known = entry.info.contextLength ?? entry.defaults?.contextLength;
  const model: AdminModel = {
    name: entry.name,
    backend: entry.adapter.name,
    contextLength: known === undefined ? null : contextLengthOf(entry),
    capabilities: capabilitiesOf(entry.info),
    ...prices(entry.price ?? entry.info.price),
    served: true,
    filterLine: filterLine(filter, [entry.info.id]),
    keys: keyNames(keys, [entry.info.id, entry.name]),
  };
  if (entry.alias !== undefined) model.alias = entry.alias;
  return model;
}

function hiddenModel(info: ModelInfo, name: string, filter: ModelFilter, keys: readonly KeyRecord[]): AdminModel {
  return {
    name,
    backend: info.backend,
    contextLength: info.contextLength ?? null,
    capabilities: capabilitiesOf(info),
    ...prices(info.price),
    served: false,
    filterLine: filterLine(filter, [info.id]),
    keys: keyNames(keys, [info.id, name]),
  };
}

/** As /api/show says them: a model that names none completes text. */
function capabilitiesOf(info: ModelInfo): string[] {
  return info.capabilities.length > 0 ? info.capabilities : ['completion'];
}

function prices(price: ModelPrice | undefined): Pick<AdminModel, 'promptPricePerMillion' | 'completionPricePerMillion'> {
  return { promptPricePerMillion: price?.prompt ?? null, completionPricePerMillion: price?.completion ?? null };
}

/** `12: anthropic/*`, `4: !*:free`. */
function filterLine(filter: ModelFilter, names: readonly string[]): string | null {
  const rule = decidingRule(filter, names);
  return rule === undefined ? null : `${rule.line}: ${rule.negated ? '!' : ''}${rule.pattern}`;
}

function keyNames(keys: readonly KeyRecord[], names: readonly string[]): string[] {
  return keys.filter((key) => keyAllowsModel(key, names)).map((key) => key.name);
}
