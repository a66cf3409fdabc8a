/**
 * The models filter (`--models-filter`): which models the gateway serves. Pure.
 *
 * One entry per line; `#` starts a comment; blank lines are ignored. An entry is an exact
 * id (`openai/gpt-4o`), a short name (`gpt-4o`, any vendor), or a glob (`anthropic/*`,
 * `*:free`); a leading `!` negates it. Entries are read top to bottom and the last one that
 * matches a model decides. A model no entry matches is served only if the file has no
 * positive entry at all (a file of `!` lines removes models from the full catalog).
 * Matching is case-insensitive and ignores a `:latest` tag. Which entries match no model is
 * the catalog's to say: it knows the models.
 */
import picomatch from 'picomatch';

export interface FilterRule {
  negated: boolean;
  pattern: string;
  line: number;
  /** An exact id (`openai/gpt-4o`), a short name (`gpt-4o`) or a glob. */
  kind: 'id' | 'short' | 'glob';
  matches: (id: string) => boolean;
}

export interface ModelFilter {
  rules: FilterRule[];
  /** Lines that could not be understood: logged and skipped, never fatal. */
  problems: string[];
  allows(id: string): boolean;
}

const ALLOWED = /^[\w.\-/:*?[\]{}!,@+~]+$/;

export function parseModelFilter(text: string): ModelFilter {
  const rules: FilterRule[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((rawLine, lineIndex) => {
    const line = rawLine.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const negated = line.startsWith('!');
    const pattern = (negated ? line.slice(1) : line).trim().toLowerCase().replace(/:latest$/, '');
    if (pattern === '' || !ALLOWED.test(pattern) || /\s/.test(pattern)) {
      problems.push(`line ${lineIndex + 1}: cannot understand "${rawLine.trim()}"`);
      return;
    }
    let matches: (id: string) => boolean;
    try {
      matches = compile(pattern);
    } catch (error) {
      problems.push(`line ${lineIndex + 1}: bad pattern "${pattern}": ${(error as Error).message}`);
      return;
    }
    rules.push({ negated, pattern, line: lineIndex + 1, kind: kindOf(pattern), matches });
  });
  const hasPositive = rules.some((rule) => !rule.negated);
  return {
    rules,
    problems,
    allows(id) {
      const key = id.toLowerCase().replace(/:latest$/, '');
      let allowed = !hasPositive;
      for (const rule of rules) if (rule.matches(key)) allowed = !rule.negated;
      return allowed;
    },
  };
}

/** The filter that lets everything through (no file given). */
export const allowAllModels: ModelFilter = { rules: [], problems: [], allows: () => true };

function kindOf(pattern: string): FilterRule['kind'] {
  if (picomatch.scan(pattern).isGlob) return 'glob';
  return pattern.includes('/') ? 'id' : 'short';
}

function compile(pattern: string): (id: string) => boolean {
  if (kindOf(pattern) === 'glob') {
    const matcher = picomatch(pattern, { dot: true, nocase: true });
    // A glob without a slash (`*:free`, `gpt-4*`) matches the whole id or the part after the vendor.
    if (!pattern.includes('/')) return (id) => matcher(id) || matcher(id.slice(id.indexOf('/') + 1));
    return matcher;
  }
  if (pattern.includes('/')) return (id) => id === pattern;
  // A short name: `gpt-4o` matches `openai/gpt-4o` (any vendor), `deepseek-r1:free` matches the variant.
  return (id) => id === pattern || id.slice(id.indexOf('/') + 1) === pattern;
}
