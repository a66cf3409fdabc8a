/** Days on the UTC calendar as the ledger names them: `YYYY-MM-DD`. */

const DAY_MS = 86_400_000;

/** The UTC day holding a time (Unix ms). */
export function dayOf(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 10);
}

/** Midnight UTC at the start of a day (Unix ms). */
export function dayStartMs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The day `count` days after (or before, when negative) another. */
export function addDays(day: string, count: number): string {
  return dayOf(dayStartMs(day) + count * DAY_MS);
}

/** Whether a text is a real calendar day written `YYYY-MM-DD` (2026-02-30 is not). */
export function isDay(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(dayStartMs(text)) && dayOf(dayStartMs(text)) === text;
}
