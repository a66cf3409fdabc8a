/**
 * Decodes a request body the way Ollama's Go server does (encoding/json into a struct whose
 * fields are all lower-case): each top-level key sets the field it folds to, case-insensitively,
 * in the order the keys come, so the last spelling wins (`{"model":"a","MODEL":"b"}` runs `b`).
 * Nested values decode as JSON.parse does. Throws SyntaxError on invalid JSON.
 */

/** Go's folding for field names: ASCII case, plus the Kelvin sign and the long s. */
function goFold(key: string): string {
  return key.toLowerCase().replaceAll('ſ', 's');
}

export function decodeLikeGo(text: string): unknown {
  const value: unknown = JSON.parse(text); // validates the whole text
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, span] of topLevelEntries(text)) result[goFold(key)] = JSON.parse(span);
  return result;
}

/** The top-level object's keys and the text of each value, in order, duplicates included. */
function topLevelEntries(text: string): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  let depth = 0;
  let index = 0;
  let key: string | undefined;
  let valueStart = -1;
  const endValue = (end: number): void => {
    if (key !== undefined && valueStart !== -1) entries.push([key, text.slice(valueStart, end)]);
    key = undefined;
    valueStart = -1;
  };
  while (index < text.length) {
    const char = text[index]!;
    if (char === '"') {
      const start = index;
      index++;
      while (text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
      index++;
      if (depth === 1 && key === undefined) key = JSON.parse(text.slice(start, index)) as string;
      else if (depth === 1 && valueStart === -1) valueStart = start;
      continue;
    }
    if (char === '{' || char === '[') {
      if (depth === 1 && valueStart === -1) valueStart = index;
      depth++;
    } else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) endValue(index);
    } else if (depth === 1 && char === ',') {
      endValue(index);
    } else if (depth === 1 && char === ':') {
      valueStart = -1;
    } else if (depth === 1 && valueStart === -1 && key !== undefined && !/\s/.test(char)) {
      valueStart = index;
    }
    index++;
  }
  return entries;
}
