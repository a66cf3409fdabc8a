/**
 * The relay's one rewrite of a chunk's content: reasoning sent as `reasoning` (OpenRouter's
 * name) is also given as `reasoning_content` (the name other clients read), so clients of
 * either convention see it. Bytes only, no decoding. Pure.
 */
const REASONING_KEY = Buffer.from('"reasoning":"');
const REASONING_CONTENT_KEY = Buffer.from('"reasoning_content"');
const REASONING_CONTENT_FIELD = Buffer.from(',"reasoning_content":');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/**
 * Every `"reasoning":"…"` in `bytes[start, end)` followed by `,"reasoning_content":"…"` (the
 * same JSON string, byte for byte), unless the text already has `reasoning_content`. Scans
 * bytes: in UTF-8, `"` and `\` never occur inside multi-byte characters. (Upstreams that
 * pretty-print their JSON are not rewritten.)
 */
export function withReasoningContent(bytes: Buffer, start: number, end: number): Buffer {
  const line = bytes.subarray(start, end);
  let found = line.indexOf(REASONING_KEY);
  if (found === -1 || line.indexOf(REASONING_CONTENT_KEY) !== -1) return line;
  const parts: Buffer[] = [];
  let copied = 0;
  while (found !== -1) {
    const valueStart = found + REASONING_KEY.length - 1;
    const valueEnd = endOfJsonString(line, valueStart);
    if (valueEnd === -1) break;
    parts.push(line.subarray(copied, valueEnd + 1), REASONING_CONTENT_FIELD, line.subarray(valueStart, valueEnd + 1));
    copied = valueEnd + 1;
    found = line.indexOf(REASONING_KEY, copied);
  }
  if (parts.length === 0) return line;
  parts.push(line.subarray(copied));
  return Buffer.concat(parts);
}

/** Index of the quote closing the JSON string whose opening quote is at `open`; -1 if none. */
function endOfJsonString(bytes: Buffer, open: number): number {
  for (let index = open + 1; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === BACKSLASH) index++;
    else if (byte === QUOTE) return index;
  }
  return -1;
}
