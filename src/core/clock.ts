/**
 * Timestamps in the formats Ollama clients parse: RFC 3339 in UTC with a 9-digit fraction
 * (OllamaKit/Enchanted decode a fixed nanosecond format). Built for the hot path: one wall
 * clock read per call, the date and time up to the second formatted once per second and the
 * whole stamp once per millisecond. Calls within one millisecond count up in the
 * sub-millisecond digits, so consecutive stamps differ and never go back while the wall clock
 * does not.
 */
let cachedSecond = -1;
let cachedSecondPrefix = '';
let cachedMillisecond = -1;
let cachedMillisecondPrefix = '';
let sameMillisecondCalls = 0;

/** "000".."999", so a millisecond is a lookup, not a number format. */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, '0'));

export function nowRfc3339Nano(): string {
  const millisecond = Date.now();
  if (millisecond !== cachedMillisecond) {
    const second = Math.floor(millisecond / 1000);
    if (second !== cachedSecond) {
      cachedSecond = second;
      cachedSecondPrefix = new Date(second * 1000).toISOString().slice(0, 20); // "YYYY-MM-DDTHH:MM:SS."
    }
    cachedMillisecond = millisecond;
    cachedMillisecondPrefix = cachedSecondPrefix + THREE_DIGITS[millisecond - second * 1000]!;
    sameMillisecondCalls = 0;
    return `${cachedMillisecondPrefix}000000Z`;
  }
  sameMillisecondCalls++;
  return `${cachedMillisecondPrefix}${String(Math.min(sameMillisecondCalls, 999_999)).padStart(6, '0')}Z`;
}

/** A fixed instant (unix milliseconds) in the same format. */
export function toRfc3339Nano(unixMilliseconds: number): string {
  return `${new Date(unixMilliseconds).toISOString().slice(0, 23)}000000Z`;
}
