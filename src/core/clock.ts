/**
 * Timestamps in the formats Ollama clients parse: RFC 3339 in UTC with a 9-digit fraction
 * (OllamaKit/Enchanted decode a fixed nanosecond format). Millisecond precision, the digits
 * below it zero. One wall clock read per call; the stamp is formatted once per millisecond.
 */
let cachedSecond = -1;
let cachedSecondPrefix = '';
let cachedMillisecond = -1;
let cachedStamp = '';

/** "000".."999", so a millisecond is a lookup, not a number format. */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, '0'));

export function nowRfc3339Nano(): string {
  const millisecond = Date.now();
  if (millisecond === cachedMillisecond) return cachedStamp;
  const second = Math.floor(millisecond / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "YYYY-MM-DDTHH:MM:SS."
  }
  cachedMillisecond = millisecond;
  cachedStamp = `${cachedSecondPrefix}${THREE_DIGITS[millisecond - second * 1000]!}000000Z`;
  return cachedStamp;
}

/** A fixed instant (unix milliseconds) in the same format. */
export function toRfc3339Nano(unixMilliseconds: number): string {
  return `${new Date(unixMilliseconds).toISOString().slice(0, 23)}000000Z`;
}
