/**
 * Timestamps in the formats Ollama clients parse: RFC 3339 in UTC with a 9-digit
 * fraction (OllamaKit/Enchanted decode a fixed nanosecond format). The date and time up to
 * the second are formatted once per second; the millisecond digits are arithmetic and the
 * sub-millisecond digits come from the monotonic clock, so timestamps within one stream
 * never repeat and a timestamp costs no Date formatting on the hot path.
 */
let cachedSecond = -1;
let cachedPrefix = '';

export function nowRfc3339Nano(): string {
  const millisecond = Date.now();
  const second = Math.floor(millisecond / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "YYYY-MM-DDTHH:MM:SS."
  }
  const milliseconds = millisecond - second * 1000;
  const subMillisecond = process.hrtime()[1] % 1_000_000;
  return `${cachedPrefix}${(milliseconds * 1_000_000 + subMillisecond).toString().padStart(9, '0')}Z`;
}

/** A fixed instant (unix milliseconds) in the same format. */
export function toRfc3339Nano(unixMilliseconds: number): string {
  return `${new Date(unixMilliseconds).toISOString().slice(0, 23)}000000Z`;
}
