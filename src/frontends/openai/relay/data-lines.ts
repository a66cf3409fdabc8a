/**
 * Byte probes of the SSE lines the /v1 relay forwards: what a read's lines are, told without
 * decoding or parsing them. Pure.
 */
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export const DATA_PREFIX = Buffer.from('data:');
const DONE = Buffer.from('[DONE]');
// Hot-path probes. Each starts with a byte that is rare in chat chunks, which makes the native
// search several times faster than with a leading quote. A false positive only means a
// closer look at the lines; a miss is impossible for compact JSON (`g":"` is the end of
// `"reasoning":"`, `rror"` the end of the `"error"` key and of the `"error"` finish reason).
const DONE_PROBE = Buffer.from('DONE]');
export const ERROR_PROBE = Buffer.from('rror"');
const REASONING_PROBE = Buffer.from('g":"');
/** A usage-only chunk (`"choices":[]`); OpenAI sends one only when the client asked for it. */
export const EMPTY_CHOICES = Buffer.from('"choices":[]');

/**
 * Whether a read's whole lines can be forwarded as they are, once the answer has started: no
 * `[DONE]`, error, string reasoning or (when those are dropped) usage-only chunk in them, and
 * every data line a whole JSON object as far as its first and last bytes tell.
 */
export function needsNoLook(region: Buffer, dropUsageOnlyChunks: boolean): boolean {
  return region.indexOf(DONE_PROBE) === -1 &&
    region.indexOf(ERROR_PROBE) === -1 &&
    region.indexOf(REASONING_PROBE) === -1 &&
    !(dropUsageOnlyChunks && region.indexOf(EMPTY_CHOICES) !== -1) &&
    dataLinesLookWhole(region);
}

/**
 * The cheap check of the hot path, over complete lines ending in LF: every line that starts
 * with `d` (a `data:` line) has `{` right after `data:` or `data: `, and `}` right before its
 * LF or CRLF. One native LF search and a few byte reads per event, no decoding (figures in
 * bench/README.md). False sends the read to the relay's line-by-line path, which checks each
 * data line exactly (`payloadKind`) and ends the relay at an unreadable one. A read that does
 * not end in LF (lone-CR framing, a CRLF cut between reads) always goes there.
 */
function dataLinesLookWhole(region: Buffer): boolean {
  if (region[region.length - 1] !== LINE_FEED) return false;
  let start = 0;
  while (start < region.length) {
    const end = region.indexOf(LINE_FEED, start);
    if (region[start] === 0x64 /* d */) {
      const open = region[start + 5] === SPACE ? start + 6 : start + 5;
      const close = region[end - 1] === CARRIAGE_RETURN ? end - 2 : end - 1;
      if (open >= close || region[open] !== OPEN_BRACE || region[close] !== CLOSE_BRACE) return false;
    }
    start = end + 1;
    // The blank line that ends an event is stepped over without another search.
    if (region[start] === LINE_FEED) start++;
    else if (region[start] === CARRIAGE_RETURN && region[start + 1] === LINE_FEED) start += 2;
  }
  return true;
}

/**
 * What a data payload is, without parsing it: `[DONE]`, or a JSON object as far as its
 * first and last bytes tell (`{` … `}` after trimming spaces and tabs), or unreadable.
 * Catches what breaks in practice: a payload cut short (a truncated or interleaved write,
 * a proxy's line limit), an HTML or plain-text error page, an empty `data:`, a bare
 * number, string, `null` or array. Does not catch a payload that starts with `{` and ends
 * with `}` but is invalid inside (`{"a":}`, `{"a":{"b":1}` cut after an inner brace), nor
 * invalid UTF-8: those are relayed as they are. A full JSON.parse per chunk would catch
 * them at about the cost of the whole relay; the translating paths do parse every event.
 * Each event is one line here (OpenRouter's framing): a JSON object split over several
 * `data:` lines counts as unreadable.
 */
export function payloadKind(payload: Buffer): 'done' | 'object' | 'unreadable' {
  let start = 0;
  let end = payload.length;
  while (start < end && (payload[start] === SPACE || payload[start] === TAB)) start++;
  while (end > start && (payload[end - 1] === SPACE || payload[end - 1] === TAB)) end--;
  if (end - start === DONE.length && payload.subarray(start, end).equals(DONE)) return 'done';
  return end - start >= 2 && payload[start] === OPEN_BRACE && payload[end - 1] === CLOSE_BRACE ? 'object' : 'unreadable';
}

/** A read that only ends lines (the blank line after an event, cut off on its own). */
export function isOnlyTerminators(region: Buffer): boolean {
  if (region.length > 4) return false;
  for (const byte of region) if (byte !== LINE_FEED && byte !== CARRIAGE_RETURN) return false;
  return true;
}

/** The last `data:` line that starts before `end` (without its terminator), if any. */
export function lastDataLine(region: Buffer, end: number): Buffer | undefined {
  let found = end - 1;
  while (found >= 0) {
    found = region.lastIndexOf(DATA_PREFIX, found);
    if (found === -1) return undefined;
    const before = region[found - 1];
    if (found === 0 || before === LINE_FEED || before === CARRIAGE_RETURN) {
      let lineEnd = found;
      while (lineEnd < region.length && region[lineEnd] !== LINE_FEED && region[lineEnd] !== CARRIAGE_RETURN) lineEnd++;
      return region.subarray(found, lineEnd);
    }
    found--;
  }
  return undefined;
}

/** The start of the first `data:` line in `region` (one at its start or after a terminator); -1 if none. */
export function firstDataLine(region: Buffer): number {
  let at = region.indexOf(DATA_PREFIX);
  while (at > 0 && region[at - 1] !== LINE_FEED && region[at - 1] !== CARRIAGE_RETURN) at = region.indexOf(DATA_PREFIX, at + 1);
  return at;
}

/** Whether `buffer` holds `prefix` at `offset`. */
export function startsWith(buffer: Buffer, offset: number, prefix: Buffer): boolean {
  if (buffer.length - offset < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (buffer[offset + index] !== prefix[index]) return false;
  return true;
}

/** The unterminated last line at EOF is worth relaying only if it is a whole data event. */
export function isCompleteDataLine(line: Buffer): boolean {
  if (!startsWith(line, 0, DATA_PREFIX)) return false;
  const payload = line.subarray(DATA_PREFIX.length).toString('utf8').trim();
  if (payload === '[DONE]') return true;
  try {
    JSON.parse(payload);
    return true;
  } catch {
    return false;
  }
}
