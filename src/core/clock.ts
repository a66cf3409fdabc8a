/**
 * Timestamps in the formats Ollama clients parse: RFC 3339 in UTC with a 9-digit
 * fraction (OllamaKit/Enchanted decode a fixed nanosecond format). The millisecond part
 * is formatted once per millisecond; the sub-millisecond digits come from the monotonic
 * clock, so timestamps within one stream never repeat.
 */
let cachedMillisecond = -1;
let cachedPrefix = '';

export function nowRfc3339Nano(): string {
  const millisecond = Date.now();
  if (millisecond !== cachedMillisecond) {
    cachedMillisecond = millisecond;
    cachedPrefix = new Date(millisecond).toISOString().slice(0, 23);
  }
  const subMillisecond = process.hrtime()[1] % 1_000_000;
  return `${cachedPrefix}${subMillisecond.toString().padStart(6, '0')}Z`;
}

/** A fixed instant (unix milliseconds) in the same format. */
export function toRfc3339Nano(unixMilliseconds: number): string {
  return `${new Date(unixMilliseconds).toISOString().slice(0, 23)}000000Z`;
}
