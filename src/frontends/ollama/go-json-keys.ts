/**
 * Ollama decodes request bodies with Go's encoding/json, which matches object keys to struct
 * fields case-insensitively (`"MODEL"` sets `model`; of two spellings, the later wins). The
 * gateway reads the same body with JSON.parse, which keeps every spelling apart. So that both
 * read the same request, a body whose keys collide case-insensitively anywhere is refused,
 * and the top-level keys (the request struct's fields, all lower-case in Ollama) are folded to
 * the spelling the gateway reads.
 */
import { GatewayError } from '../../errors.js';

/**
 * A key as Go's field matching sees it. Go folds ASCII letters, and exactly two other letters
 * onto ASCII ones: the Kelvin sign (K → k, which toLowerCase does) and the long s (ſ → s).
 * Other non-ASCII letters may fold differently, but no Ollama field name has any.
 */
export function foldKey(key: string): string {
  const lower = key.toLowerCase();
  return lower.includes('ſ') ? lower.replaceAll('ſ', 's') : lower;
}

/**
 * Refuses (400) a body with two keys in one object that Go would take for the same field,
 * naming them; then folds the top-level keys. Walks without recursion: the depth of a body
 * costs no stack.
 */
export function canonicalizeOllamaBody(body: unknown): void {
  if (!isPlainObject(body)) return;
  const pending: Array<{ value: unknown; path: string }> = [{ value: body, path: '' }];
  while (pending.length > 0) {
    const { value, path } = pending.pop()!;
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        const item: unknown = value[index];
        if (typeof item === 'object' && item !== null) pending.push({ value: item, path: `${path}${index}.` });
      }
      continue;
    }
    const seen = new Map<string, string>();
    for (const key of Object.keys(value as object)) {
      const folded = foldKey(key);
      const earlier = seen.get(folded);
      if (earlier !== undefined) {
        throw new GatewayError('BAD_REQUEST', `invalid request: keys ${JSON.stringify(path + earlier)} and ${JSON.stringify(path + key)} differ only in case; Ollama would read them as one field`);
      }
      seen.set(folded, key);
      const child: unknown = (value as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) pending.push({ value: child, path: `${path}${key}.` });
    }
  }
  const record = body;
  for (const key of Object.keys(record)) {
    const folded = foldKey(key);
    if (folded === key) continue;
    // defineProperty, not assignment: a folded `__PROTO__` must stay a plain field.
    Object.defineProperty(record, folded, { value: record[key], enumerable: true, writable: true, configurable: true });
    delete record[key];
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}
