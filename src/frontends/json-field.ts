/**
 * A string field read straight from compact JSON bytes, without parsing them: for the few
 * fields read once per answer (who answered, how it ended) out of bytes that are relayed as
 * they are. `key` is the field's bytes up to its value's opening quote, `"model":"`; in compact
 * JSON those bytes can only be a key (inside a string every `"` is escaped).
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The value of the first `key` in `bytes[start, end)`; undefined when there is none or it does not read. */
export function firstStringField(bytes: Buffer, key: Buffer, start = 0, end = bytes.length): string | undefined {
  const at = bytes.subarray(start, end).indexOf(key);
  return at === -1 ? undefined : valueAt(bytes, start + at + key.length - 1, end);
}

/** The value of the last `key` in `bytes[0, end)`. */
export function lastStringField(bytes: Buffer, key: Buffer, end = bytes.length): string | undefined {
  const at = bytes.subarray(0, end).lastIndexOf(key);
  return at === -1 ? undefined : valueAt(bytes, at + key.length - 1, end);
}

/** The JSON string whose opening quote is at `open`, decoded. */
function valueAt(bytes: Buffer, open: number, end: number): string | undefined {
  for (let index = open + 1; index < end; index++) {
    const byte = bytes[index];
    if (byte === BACKSLASH) {
      index++;
    } else if (byte === QUOTE) {
      try {
        return JSON.parse(bytes.toString('utf8', open, index + 1)) as string;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
