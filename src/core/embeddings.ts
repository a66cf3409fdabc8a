/**
 * Ollama's /api/embed returns L2-normalised vectors; with `dimensions` it truncates first and
 * normalises again. Pure.
 */
export function normalizeEmbedding(vector: readonly number[], dimensions?: number): number[] {
  const truncated = dimensions !== undefined && dimensions < vector.length ? vector.slice(0, dimensions) : [...vector];
  let sumOfSquares = 0;
  for (const value of truncated) sumOfSquares += value * value;
  if (sumOfSquares === 0) return truncated;
  const norm = Math.sqrt(sumOfSquares);
  return truncated.map((value) => value / norm);
}
