/**
 * The one glob compiler, for the lists users write patterns in: the models filter, a key's
 * `--models` and `--origins`. picomatch underneath; always case-insensitive; `!` is never a
 * negation here (the model lists read a leading `!` as "exclude" themselves). What differs
 * between the lists is an option. Pure.
 */
import picomatch from 'picomatch';

export interface GlobOptions {
  /**
   * `*` also matches `/`, as in Ollama's OLLAMA_ORIGINS (`app://*`). Otherwise `*` stops at
   * `/`, as in model ids (`anthropic/*` does not match `anthropic/a/b`).
   */
  starCrossesSlash?: boolean;
  /**
   * A pattern without `/` also matches what follows a candidate's first `/` (a model id's
   * vendor): `gpt-4o` matches `openai/gpt-4o`, `*:free` matches `deepseek/deepseek-r1:free`.
   */
  anyVendor?: boolean;
}

export type GlobMatcher = (candidate: string) => boolean;

/** Whether the pattern has glob syntax (`*`, `?`, `[…]`, `{…}`, extglobs); otherwise it names one thing. */
export function isGlob(pattern: string): boolean {
  return picomatch.scan(pattern, { nonegate: true }).isGlob;
}

/** A matcher for one pattern. A pattern without glob syntax matches by (case-insensitive) equality. */
export function compileGlob(pattern: string, options: GlobOptions = {}): GlobMatcher {
  const lower = pattern.toLowerCase();
  let whole: GlobMatcher = (candidate) => candidate.toLowerCase() === lower;
  if (isGlob(lower)) {
    const matcher = picomatch(lower, { dot: true, nocase: true, nonegate: true, bash: options.starCrossesSlash === true });
    // One argument only: picomatch's second one asks for a result object, which is always truthy.
    whole = (candidate) => matcher(candidate);
  }
  if (options.anyVendor !== true || lower.includes('/')) return whole;
  return (candidate) => whole(candidate) || whole(candidate.slice(candidate.indexOf('/') + 1));
}
