/**
 * The shape of a stream's plain text chunks, learned once, so that most chunks skip
 * JSON.parse. Within one OpenRouter answer every text chunk is the same bytes but for its
 * text: `{"id":"gen-…","provider":…,"model":…,"object":"chat.completion.chunk","created":…,
 * "choices":[{"index":0,"delta":{"role":"assistant","content":"` + text + `","reasoning":null,…}]}`.
 * Parsing is the largest cost per chunk after the socket itself.
 *
 * Exact by construction, never a guess:
 * - It learns only from a chunk the full path parsed and found to carry nothing but text
 *   (no finish reason, usage, error, reasoning or tool call), and only when that text is
 *   written without escapes and its `"content":"…"` occurs once in the chunk. A probe parse of
 *   the same chunk with other text in that place proves those bytes are `delta.content`.
 * - It matches only a chunk with the same bytes before and after the text, and a text with no
 *   `"`, `\` or control character: such a chunk parses to the learned one with this text, so
 *   the full path would produce exactly this text and nothing else.
 * Anything else (a finish, usage, an escaped character) takes the full path.
 */

/** A text no real chunk carries, to probe where `delta.content` sits. */
const PROBE = 'ollama-bridge shape probe';
const CONTENT_KEY = '"content":"';
/** A stream whose text chunks keep changing shape stops learning after this many. */
const MAX_LEARNINGS = 8;

export class TextChunkShape {
  private prefix: string | undefined;
  private suffix = '';
  private learnings = 0;

  /** The text of `data` when it is a learned text chunk with only its text changed; else undefined. */
  textOf(data: string): string | undefined {
    const prefix = this.prefix;
    if (prefix === undefined) return undefined;
    const suffix = this.suffix;
    const end = data.length - suffix.length;
    // Equality of slices, not startsWith/endsWith: V8 compares a slice with a flat string as
    // one block, while startsWith walks a long prefix character by character.
    if (end < prefix.length || data.slice(0, prefix.length) !== prefix || data.slice(end) !== suffix) return undefined;
    for (let at = prefix.length; at < end; at++) {
      const code = data.charCodeAt(at);
      if (code === 0x22 || code === 0x5c || code < 0x20) return undefined;
    }
    return data.slice(prefix.length, end);
  }

  /** Learns from `data`, a chunk whose only effect is the text `content` (see the module comment). */
  learn(data: string, content: string): void {
    if (this.learnings >= MAX_LEARNINGS) return;
    const literal = JSON.stringify(content);
    // Written with escapes (quotes, backslashes, control characters): nothing to learn here.
    if (literal.length !== content.length + 2) return;
    const needle = `"content":${literal}`;
    const at = data.indexOf(needle);
    if (at === -1 || data.indexOf(needle, at + 1) !== -1) return;
    const start = at + CONTENT_KEY.length;
    const prefix = data.slice(0, start);
    const suffix = data.slice(start + content.length);
    try {
      const probe = JSON.parse(prefix + PROBE + suffix) as { choices?: Array<{ delta?: { content?: unknown } }> };
      if (probe?.choices?.[0]?.delta?.content !== PROBE) return;
    } catch {
      return;
    }
    this.prefix = flatCopy(prefix);
    this.suffix = flatCopy(suffix);
    this.learnings++;
  }
}

/**
 * A copy of `text` in one flat block. A slice of a longer string keeps pointing into it (and
 * keeps it alive); comparisons against the copy are memory compares.
 */
function flatCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
