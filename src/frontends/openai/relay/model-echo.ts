/**
 * The /v1 relay answers with the model name the client asked for (`coder`, `gpt-4o`), as
 * Ollama's /v1 and this gateway's /api do, not the upstream's id (`openai/gpt-4o-2024-08-06`).
 *
 * Bytes only, no decoding. In compact JSON the bytes `"model":"` can only be a key (inside a
 * string every `"` is escaped); the first one of each line (each line is one event) is the
 * chunk's top-level `model`, near the line's start (OpenRouter writes `id`, `provider`,
 * `model` first), and its value is replaced unless it already is the client's name. A
 * pretty-printed key (`"model": "`) is left alone.
 *
 * Cost, per line: a byte loop over the first bytes of the line (cheaper than a native search
 * call, whose fixed cost is about twice that), a native search for the line's end, and, when
 * the name differs, a splice. The client's name is usually shorter than the upstream's dated
 * id, and then the splice is made in the read's own buffer: the bytes before the value move
 * right and a view that starts later is returned, so the rest of the line is not copied and
 * nothing is allocated but the view. A longer name costs one new buffer for the read.
 */
const LINE_FEED = 0x0a;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const COLON = 0x3a;
/** `model":"` after the opening quote of the key. */
const KEY_TAIL = Buffer.from('model":"');
/** How far into a line the byte loop looks before a native search takes over. */
const SCAN_BYTES = 256;

export class ModelEcho {
  /** The client's name as JSON string content (escaped, without quotes). */
  private readonly name: Buffer;
  /** [start, end) of each value to replace in the bytes at hand (the first `count` entries); reused, not allocated per read. */
  private readonly spans: number[] = [];

  constructor(name: string) {
    this.name = Buffer.from(JSON.stringify(name).slice(1, -1));
  }

  /**
   * `bytes` (whole lines) with the upstream's name replaced. May rewrite `bytes` in place and
   * return a view of it: the caller must use only what is returned.
   */
  apply(bytes: Buffer): Buffer {
    const { name, spans } = this;
    let count = 0;
    let growth = 0;
    /** Some value is shorter than the name: the read cannot be rewritten in place. */
    let grows = false;
    let lineStart = 0;
    while (lineStart < bytes.length) {
      const key = findKey(bytes, lineStart);
      if (key === -1) break;
      const start = key + KEY_TAIL.length;
      // Already the client's name (no scan for the closing quote then), or the upstream's.
      let end = start + name.length;
      if (bytes[end] !== QUOTE || !equals(bytes, start, name)) {
        end = closingQuote(bytes, start);
        if (end === -1) break;
        spans[count++] = start;
        spans[count++] = end;
        growth += name.length - (end - start);
        if (end - start < name.length) grows = true;
      }
      const lineEnd = bytes.indexOf(LINE_FEED, end);
      // A lone CR ends lines here and there: every key counts then.
      lineStart = lineEnd === -1 ? end + 1 : lineEnd + 1;
    }
    if (count === 0) return bytes;
    return grows ? this.spliceIntoCopy(bytes, growth, count) : this.spliceInPlace(bytes, count);
  }

  /** Every span replaced, right to left; what comes before each moves right. Returns the view that holds the result. */
  private spliceInPlace(bytes: Buffer, count: number): Buffer {
    const { name, spans } = this;
    let read = bytes.length;
    let write = bytes.length;
    for (let index = count - 2; index >= 0; index -= 2) {
      const start = spans[index]!;
      const end = spans[index + 1]!;
      write -= read - end;
      if (write !== end) bytes.copyWithin(write, end, read);
      write -= name.length;
      for (let byte = 0; byte < name.length; byte++) bytes[write + byte] = name[byte]!;
      read = start;
    }
    write -= read;
    if (write !== 0) bytes.copyWithin(write, 0, read);
    return bytes.subarray(write);
  }

  private spliceIntoCopy(bytes: Buffer, growth: number, count: number): Buffer {
    const { name, spans } = this;
    const output = Buffer.allocUnsafe(bytes.length + growth);
    let written = 0;
    let copied = 0;
    for (let index = 0; index < count; index += 2) {
      written += bytes.copy(output, written, copied, spans[index]);
      for (let byte = 0; byte < name.length; byte++) output[written++] = name[byte]!;
      copied = spans[index + 1]!;
    }
    bytes.copy(output, written, copied);
    return output;
  }
}

/**
 * Where `model":"` starts (after a `"`) in the line from `from`: a byte loop over the first
 * SCAN_BYTES, then a native search; -1 if there is none.
 */
function findKey(bytes: Buffer, from: number): number {
  const last = bytes.length - KEY_TAIL.length;
  const stop = Math.min(last, from + SCAN_BYTES);
  for (let index = Math.max(from, 1); index <= stop; index++) {
    if (bytes[index] === 0x6d /* m */ && bytes[index + 7] === QUOTE && bytes[index + 6] === COLON && bytes[index + 5] === QUOTE && bytes[index - 1] === QUOTE && isKeyTail(bytes, index)) return index;
  }
  let found = stop < last ? bytes.indexOf(KEY_TAIL, stop + 1) : -1;
  while (found !== -1 && bytes[found - 1] !== QUOTE) found = bytes.indexOf(KEY_TAIL, found + 1);
  return found;
}

function isKeyTail(bytes: Buffer, at: number): boolean {
  for (let index = 1; index < 5; index++) if (bytes[at + index] !== KEY_TAIL[index]) return false;
  return true;
}

/** Index of the quote that ends the JSON string content starting at `start`; -1 if none. */
function closingQuote(bytes: Buffer, start: number): number {
  let quote = bytes.indexOf(QUOTE, start);
  // Escaped (a model id seldom has a `"`): the quote counts if an even run of backslashes precedes it.
  while (quote !== -1 && escaped(bytes, start, quote)) quote = bytes.indexOf(QUOTE, quote + 1);
  return quote;
}

function escaped(bytes: Buffer, start: number, quote: number): boolean {
  let backslashes = 0;
  while (quote - backslashes - 1 >= start && bytes[quote - backslashes - 1] === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}

/** Whether the bytes from `start` are `expected` (a few bytes: a loop beats a native call). */
function equals(bytes: Buffer, start: number, expected: Buffer): boolean {
  for (let index = 0; index < expected.length; index++) if (bytes[start + index] !== expected[index]) return false;
  return true;
}
