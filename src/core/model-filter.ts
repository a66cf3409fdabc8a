/**
 * Model lists: the models filter (`--models-filter`, which models the gateway serves) and a
 * client key's `--models` (which of them the key may use) read their entries by the same
 * rules. Pure.
 *
 * An entry is an exact id (`openai/gpt-4o`), a short name (`gpt-4o`, any vendor), or a glob
 * (`anthropic/*`, `*:free`); a leading `!` negates it. Entries are read in order and the last
 * one that matches a model decides. A model no entry matches is allowed only if the list has
 * no positive entry at all (a list of `!` entries removes models from the full catalog).
 * Matching is case-insensitive and ignores a `:latest` tag.
 *
 * The filter file adds lines: one entry per line, `#` starts a comment, blank lines are
 * ignored. Which entries match no model is the catalog's to say: it knows the models.
 */
import { compileGlob, isGlob } from './glob.js';

export interface FilterRule {
  negated: boolean;
  /** The entry without its `!`, lower case, without a `:latest` tag. */
  pattern: string;
  line: number;
  /** An exact id (`openai/gpt-4o`), a short name (`gpt-4o`) or a glob. */
  kind: 'id' | 'short' | 'glob';
  /** Whether the entry matches a model key (see `modelKey`). */
  matches: (key: string) => boolean;
}

export interface ModelFilter {
  rules: FilterRule[];
  /** Lines that could not be understood: logged and skipped, never fatal. */
  problems: string[];
  allows(id: string): boolean;
}

/** A key's model list: whether it allows a model known by any of these names (its id, its listed name). */
export type ModelListCheck = (names: readonly string[]) => boolean;

const ALLOWED = /^[\w.\-/:*?[\]{}!,@+~]+$/;

/** What entries are matched against: lower case, without a `:latest` tag. */
export function modelKey(name: string): string {
  return name.toLowerCase().replace(/:latest$/, '');
}

export function parseModelFilter(text: string): ModelFilter {
  const rules: FilterRule[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((rawLine, lineIndex) => {
    const line = rawLine.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const { negated, pattern } = splitEntry(line);
    if (pattern === '' || !ALLOWED.test(pattern) || /\s/.test(pattern)) {
      problems.push(`line ${lineIndex + 1}: cannot understand "${rawLine.trim()}"`);
      return;
    }
    try {
      rules.push(compileRule(negated, pattern, lineIndex + 1));
    } catch (error) {
      problems.push(`line ${lineIndex + 1}: bad pattern "${pattern}": ${(error as Error).message}`);
    }
  });
  const decide = listDecision(rules);
  return { rules, problems, allows: (id) => decide([modelKey(id)]) };
}

/** The rule that decides about a model known by these names (the last that matches any), or undefined when none matches. */
export function decidingRule(filter: Pick<ModelFilter, 'rules'>, names: readonly string[]): FilterRule | undefined {
  const keys = names.map(modelKey);
  return filter.rules.findLast((rule) => keys.some((key) => rule.matches(key)));
}

/**
 * A key's `--models`, read as the filter reads its lines. An entry that cannot be compiled
 * matches nothing but still counts as positive: a key's list fails closed.
 */
export function parseModelList(entries: readonly string[]): ModelListCheck {
  const rules = entries.map((entry, index) => {
    const { negated, pattern } = splitEntry(entry.trim());
    try {
      return compileRule(negated, pattern, index + 1);
    } catch {
      return { negated: false, pattern, line: index + 1, kind: 'glob' as const, matches: () => false };
    }
  });
  const decide = listDecision(rules);
  return (names) => decide(names.map(modelKey));
}

/** The filter that lets everything through (no file given). */
export const allowAllModels: ModelFilter = { rules: [], problems: [], allows: () => true };

function splitEntry(entry: string): { negated: boolean; pattern: string } {
  const negated = entry.startsWith('!');
  return { negated, pattern: modelKey((negated ? entry.slice(1) : entry).trim()) };
}

function compileRule(negated: boolean, pattern: string, line: number): FilterRule {
  const kind = isGlob(pattern) ? 'glob' : pattern.includes('/') ? 'id' : 'short';
  return { negated, pattern, line, kind, matches: compileGlob(pattern, { anyVendor: true }) };
}

/** The last entry that matches any of the keys decides; none matching allows only a list without positive entries. */
function listDecision(rules: readonly FilterRule[]): (keys: readonly string[]) => boolean {
  const hasPositive = rules.some((rule) => !rule.negated);
  return (keys) => {
    let allowed = !hasPositive;
    for (const rule of rules) if (keys.some((key) => rule.matches(key))) allowed = !rule.negated;
    return allowed;
  };
}
