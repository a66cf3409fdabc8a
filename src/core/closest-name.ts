/**
 * "Did you mean": the known name nearest to a mistyped one (a flag, an option, a model id).
 * Pure.
 */

/**
 * The candidate nearest to `word` (ignoring case), if it is near enough to be a typo: at most
 * one edit per four characters of the candidate (of its model name only, for a `vendor/model`
 * id: `openai/gpt-5` is not a typo of `openai/gpt-4o`), and at least one. Ties go to the first.
 */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  const typed = word.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const limit = Math.max(1, Math.floor((name.length - name.indexOf('/') - 1) / 4));
    // No edit sequence shorter than the length difference: skip without the table.
    if (Math.abs(name.length - typed.length) > limit) continue;
    const distance = editDistance(typed, name.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Edits (insert, delete, replace, swap two neighbours) from one name to the other. */
export function editDistance(left: string, right: string): number {
  const rows: number[][] = Array.from({ length: left.length + 1 }, (_row, row) => Array.from({ length: right.length + 1 }, (_cell, column) => (row === 0 ? column : column === 0 ? row : 0)));
  for (let row = 1; row <= left.length; row++) {
    for (let column = 1; column <= right.length; column++) {
      const cost = left[row - 1] === right[column - 1] ? 0 : 1;
      let best = Math.min(rows[row - 1]![column]! + 1, rows[row]![column - 1]! + 1, rows[row - 1]![column - 1]! + cost);
      if (row > 1 && column > 1 && left[row - 1] === right[column - 2] && left[row - 2] === right[column - 1]) best = Math.min(best, rows[row - 2]![column - 2]! + 1);
      rows[row]![column] = best;
    }
  }
  return rows[left.length]![right.length]!;
}

/** `; did you mean X?`, or nothing. */
export function didYouMean(suggestion: string | undefined): string {
  return suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
}
