/**
 * What in the models filter and the models config refers to nothing the backends list: a
 * filter entry that matches no model (`opnai/gpt-4o`), a filter that lets nothing through,
 * an override for a model that does not exist (`gtp-4o`), an alias whose target is not
 * served, a fallback that names no served model. Each problem names the file and the line (or key path), with a "did you mean"
 * when a listed name is close. Pure: the catalog calls it with what it knows and logs the
 * result once per change.
 */
import { closestName, didYouMean } from './closest-name.js';
import type { ModelFilter, FilterRule } from './model-filter.js';
import { listedName, lookupKey, shortKey } from './model-names.js';
import type { ModelsConfig } from './models-config.js';

export interface ConfigProblem {
  message: string;
  /** Log fields: the file, the line, the entry. */
  details: Record<string, unknown>;
}

export interface ServedName {
  /** As listed: `openai/gpt-4o:latest`, `coder:latest`. */
  name: string;
  alias?: string;
}

export interface ConfigCheckInput {
  /** Every model id the backends list, before the filter. */
  ids: readonly string[];
  /** What is served, by lookup key and by short key (the catalog snapshot's maps). */
  served: ReadonlyMap<string, ServedName>;
  servedShort: ReadonlyMap<string, readonly ServedName[]>;
  filter: ModelFilter;
  filterPath: string | undefined;
  modelsConfig: ModelsConfig;
  modelsConfigPath: string | undefined;
  /** Backends that have not listed their models yet: what is missing may be theirs. */
  unlisted: readonly string[];
}

/** The problems of each file, apart: each is said once per reload of its own file. */
export function checkCatalogConfig(input: ConfigCheckInput): { filter: ConfigProblem[]; modelsConfig: ConfigProblem[] } {
  const caveat = input.unlisted.length === 0 ? '' : ` (${input.unlisted.join(' and ')} ${input.unlisted.length === 1 ? 'has' : 'have'} not listed models yet)`;
  return { filter: filterProblems(input, caveat), modelsConfig: modelsConfigProblems(input, caveat) };
}

function filterProblems(input: ConfigCheckInput, caveat: string): ConfigProblem[] {
  const { filter, filterPath: path, ids } = input;
  if (filter.rules.length === 0) return [];
  const file = `models filter${path === undefined ? '' : ` ${path}`}`;
  const keys = ids.map((id) => id.toLowerCase().replace(/:latest$/, ''));
  const problems: ConfigProblem[] = [];
  for (const rule of filter.rules) {
    if (keys.some((key) => rule.matches(key))) continue;
    const entry = `${rule.negated ? '!' : ''}${rule.pattern}`;
    const alias = input.modelsConfig.aliases.get(lookupKey(rule.pattern));
    const hint = alias === undefined
      ? didYouMean(suggestRule(rule, ids))
      : `; "${alias.alias}" is an alias of the models config, and the filter applies to the backends' models: list its target, ${alias.target}`;
    problems.push({ message: `${file} line ${rule.line}: "${entry}" matches no model${caveat}${hint}`, details: { path, line: rule.line, entry } });
  }
  if (input.served.size === 0 && ids.length > 0) {
    problems.push({ message: `${file} serves no model: none of the ${ids.length} models the backends list passes it`, details: { path, models: 0 } });
  }
  return problems;
}

/** A listed name close to what the entry says, in the entry's own form. */
function suggestRule(rule: FilterRule, ids: readonly string[]): string | undefined {
  const negation = rule.negated ? '!' : '';
  if (rule.kind === 'id') return withPrefix(negation, closestName(rule.pattern, ids));
  if (rule.kind === 'short') return withPrefix(negation, closestName(rule.pattern, new Set(ids.map((id) => id.slice(id.indexOf('/') + 1)))));
  // A glob: only its vendor can be checked (`opnai/*` → `openai/*`).
  const slash = rule.pattern.indexOf('/');
  const vendor = rule.pattern.slice(0, slash);
  if (slash <= 0 || /[*?[\]{}!]/.test(vendor)) return undefined;
  const closest = closestName(vendor, new Set(ids.filter((id) => id.includes('/')).map((id) => id.slice(0, id.indexOf('/')))));
  return withPrefix(negation, closest === undefined ? undefined : `${closest}${rule.pattern.slice(slash)}`);
}

function withPrefix(prefix: string, name: string | undefined): string | undefined {
  return name === undefined ? undefined : `${prefix}${name}`;
}

function modelsConfigProblems(input: ConfigCheckInput, caveat: string): ConfigProblem[] {
  const { modelsConfig: config, modelsConfigPath: path, served, ids } = input;
  if (config.aliases.size === 0 && config.overrideNames.size === 0 && config.routing.size === 0) return [];
  const where = (keyPath: string): string => {
    const line = config.lines.get(keyPath);
    return `models config${path === undefined ? '' : ` ${path}`}${line === undefined ? '' : ` line ${line}`} (${keyPath})`;
  };
  const details = (keyPath: string): Record<string, unknown> => ({ path, line: config.lines.get(keyPath), key: keyPath });
  // What exists upstream, filtered out or not: a name the filter hides is not a typo.
  const upstream = new Set<string>();
  for (const id of ids) {
    const key = lookupKey(listedName(id));
    upstream.add(key);
    upstream.add(shortKey(key));
  }
  const names = knownNames(input);
  const problems: ConfigProblem[] = [];

  for (const [aliasKey, { alias, target }] of config.aliases) {
    const keyPath = `aliases.${alias}`;
    const listed = served.get(aliasKey);
    if (listed !== undefined && listed.alias === undefined) {
      problems.push({ message: `${where(keyPath)}: "${alias}" is also a model's name; the model wins`, details: details(keyPath) });
    } else if (listed === undefined) {
      const targetKey = lookupKey(target);
      const sharing = input.servedShort.get(targetKey)?.length ?? 0;
      const why = sharing > 1
        ? `"${target}" is the short name of ${sharing} models, so the alias is not listed; name one with its vendor`
        : upstream.has(targetKey)
          ? `"${target}" is hidden by the models filter, so the alias is not listed`
          : `"${target}" names no model, so the alias is not listed${caveat}${didYouMean(closestName(target, names))}`;
      problems.push({ message: `${where(keyPath)}: ${why}`, details: { ...details(keyPath), target } });
    }
  }
  for (const [key, name] of config.overrideNames) {
    if (served.has(key) || input.servedShort.has(key) || upstream.has(key)) continue;
    // An alias that is not listed has been reported above.
    if (config.aliases.has(key)) continue;
    const keyPath = `models.${name}`;
    problems.push({
      message: `${where(keyPath)}: names no model and no alias, so it applies to nothing${caveat}${didYouMean(closestName(name, names))}`,
      details: details(keyPath),
    });
  }
  for (const [key, routing] of config.routing) {
    const name = config.overrideNames.get(key) ?? key;
    for (const fallback of routing.fallbacks) {
      const fallbackKey = lookupKey(fallback);
      if (served.has(fallbackKey) || input.servedShort.get(fallbackKey)?.length === 1) continue;
      const keyPath = `models.${name}.fallbacks`;
      const why = upstream.has(fallbackKey) ? 'is hidden by the models filter or names several models' : `names no model${caveat}${didYouMean(closestName(fallback, names))}`;
      problems.push({ message: `${where(keyPath)}: the fallback "${fallback}" ${why}; it is skipped`, details: { ...details(keyPath), fallback } });
    }
  }
  return problems;
}

/** The names a client could mean: every id the backends list (filtered out or not) and its short name, and every alias. */
function knownNames(input: ConfigCheckInput): Set<string> {
  const names = new Set<string>();
  for (const id of input.ids) {
    const bare = id.replace(/:latest$/, '');
    names.add(bare);
    names.add(bare.slice(bare.lastIndexOf('/') + 1));
  }
  for (const { alias } of input.modelsConfig.aliases.values()) names.add(alias);
  return names;
}
