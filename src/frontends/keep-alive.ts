/** Ollama's `keep_alive` (a Go duration, or seconds), read by both front ends for /api/ps. */
import { GatewayError } from '../errors.js';

/** Go's longest time.Duration (~292 years), in milliseconds. */
const MAX_DURATION_MS = 9_223_372_036_854;

/** `keep_alive` in milliseconds (negative = forever), for /api/ps. Default 5 minutes. */
export function keepAliveMilliseconds(value: string | number | null | undefined): number {
  const fiveMinutes = 5 * 60_000;
  if (value === undefined || value === null) return fiveMinutes;
  // Seconds past Go's range overflow to a negative Duration in Ollama: loaded forever.
  if (typeof value === 'number') return value < 0 || value * 1000 > MAX_DURATION_MS ? -1 : value * 1000;
  const duration = parseGoDuration(value);
  if (duration === undefined || Math.abs(duration) > MAX_DURATION_MS) {
    if (/^-?\d+(\.\d+)?$/.test(value.trim())) throw new GatewayError('BAD_REQUEST', `time: missing unit in duration "${value}"`);
    throw new GatewayError('BAD_REQUEST', `time: invalid duration "${value}"`);
  }
  return duration < 0 ? -1 : duration;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  const match = /^([+-])?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(trimmed);
  if (!match) return undefined;
  let total = 0;
  for (const part of match[2]!.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
  }
  return match[1] === '-' ? -total : total;
}
