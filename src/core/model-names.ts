/**
 * Ollama model names ↔ backend ids. An OpenRouter id is already a valid Ollama
 * `namespace/model:tag` name; a name without a tag means `:latest`. Matching is
 * case-insensitive, as Ollama's is. No suffix or substring guessing, ever.
 */

/** The name a model is listed under: the id, with `:latest` when it has no tag. */
export function listedName(id: string): string {
  return hasTag(id) ? id : `${id}:latest`;
}

/** The lookup key of a requested name: lower case, with `:latest` when untagged. */
export function lookupKey(name: string): string {
  const trimmed = name.trim().toLowerCase();
  return hasTag(trimmed) ? trimmed : `${trimmed}:latest`;
}

/** The part after the namespace, with its tag: `openai/gpt-4o:latest` → `gpt-4o:latest`. */
export function shortKey(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash === -1 ? key : key.slice(slash + 1);
}

/** A tag is a `:` after the last `/` (hosts like `host:port/ns/model` keep their port). */
export function hasTag(name: string): boolean {
  return name.lastIndexOf(':') > name.lastIndexOf('/');
}
