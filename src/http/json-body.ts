/**
 * Request bodies as JSON, with bounded depth and size. A body nested 100,000 levels deep
 * parses, then overflows the stack of everything recursive after it (zod, JSON.stringify on
 * the way upstream); millions of tiny objects cost seconds and a lot of memory to parse. A
 * body past either limit is refused with 400 before any work.
 *
 * Cheap for the usual bodies, multi-megabyte base64 images included:
 * - before parsing, `{` and `[` bytes are counted with Buffer.indexOf (memchr speed); only a
 *   body with more than PRE_PARSE_CONTAINERS of them is scanned byte by byte (string-aware),
 *   so a body past the limits reaches JSON.parse only when it is small in containers;
 * - after parsing, one iterative walk over the objects and arrays (never into strings)
 *   measures depth and counts values exactly.
 */
import { GatewayError } from '../errors.js';

export interface JsonLimits {
  /** Objects and arrays inside one another. Real JSON schemas rarely pass 20; Go's encoding/json stops at 10,000. */
  maxDepth: number;
  /** Values in the whole body: every object, array, member and element. */
  maxValues: number;
}

/** The depth is well below where JSON.stringify overflows Node's default stack (3,000 to 5,000 levels here). */
export const JSON_LIMITS: JsonLimits = { maxDepth: 512, maxValues: 1_000_000 };

/** Up to this many `{`/`[` bytes, a body is parsed without a byte scan first (JSON.parse alone takes that depth cheaply; the figure is in bench/README.md). */
const PRE_PARSE_CONTAINERS = 65_536;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * The request body's JSON value; undefined for an empty (or all-whitespace) body.
 * Throws a 400 GatewayError for invalid JSON and for a body past the limits.
 */
export function parseJsonBody(bytes: Buffer, limits: JsonLimits = JSON_LIMITS): unknown {
  if (bytes.length > PRE_PARSE_CONTAINERS && countContainerBytes(bytes, PRE_PARSE_CONTAINERS) > PRE_PARSE_CONTAINERS) {
    throwIfProblem(scanProblem(bytes, limits));
  }
  const text = bytes.toString('utf8').trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GatewayError('BAD_REQUEST', `invalid JSON in request body: ${(error as Error).message}`);
  }
  // n bytes nest at most n/2 levels deep and hold at most n values.
  if (bytes.length > 2 * limits.maxDepth || bytes.length > limits.maxValues) throwIfProblem(valueProblem(value, limits));
  return value;
}

function throwIfProblem(problem: string | undefined): void {
  if (problem !== undefined) throw new GatewayError('BAD_REQUEST', problem);
}

function tooDeep(limits: JsonLimits): string {
  return `request JSON is nested too deeply: more than ${limits.maxDepth} levels of objects and arrays`;
}

function tooManyValues(limits: JsonLimits): string {
  return `request JSON has too many values: more than ${limits.maxValues}`;
}

/** `{` and `[` bytes anywhere (strings too), counted up to just past `stopAbove`. */
function countContainerBytes(bytes: Buffer, stopAbove: number): number {
  let count = 0;
  for (const byte of [OPEN_BRACE, OPEN_BRACKET]) {
    for (let index = bytes.indexOf(byte); index !== -1; index = bytes.indexOf(byte, index + 1)) {
      if (++count > stopAbove) return count;
    }
  }
  return count;
}

/**
 * The depth and container count of unparsed JSON, strings skipped. Only counts: syntax is
 * JSON.parse's job (an unterminated string just ends the scan).
 */
export function scanProblem(bytes: Buffer, limits: JsonLimits = JSON_LIMITS): string | undefined {
  let depth = 0;
  let containers = 0;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    if (byte === QUOTE) {
      index = closingQuote(bytes, index);
      if (index === -1) return undefined;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > limits.maxDepth) return tooDeep(limits);
      if (++containers > limits.maxValues) return tooManyValues(limits);
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opened at `start`, or -1 when there is none. */
function closingQuote(bytes: Buffer, start: number): number {
  let index = start;
  for (;;) {
    index = bytes.indexOf(QUOTE, index + 1);
    if (index === -1) return -1;
    // Escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (bytes[index - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return index;
  }
}

/** The depth and value count of a parsed value: one iterative walk, no recursion, strings never read. */
export function valueProblem(root: unknown, limits: JsonLimits = JSON_LIMITS): string | undefined {
  if (typeof root !== 'object' || root === null) return undefined;
  const containers: object[] = [root];
  const depths: number[] = [1];
  let values = 1;
  while (containers.length > 0) {
    const container = containers.pop()!;
    const depth = depths.pop()!;
    if (Array.isArray(container)) {
      values += container.length;
      if (values > limits.maxValues) return tooManyValues(limits);
      for (let index = 0; index < container.length; index++) {
        const item: unknown = container[index];
        if (typeof item !== 'object' || item === null) continue;
        if (depth >= limits.maxDepth) return tooDeep(limits);
        containers.push(item);
        depths.push(depth + 1);
      }
    } else {
      for (const key in container) {
        if (++values > limits.maxValues) return tooManyValues(limits);
        const item: unknown = (container as Record<string, unknown>)[key];
        if (typeof item !== 'object' || item === null) continue;
        if (depth >= limits.maxDepth) return tooDeep(limits);
        containers.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}
