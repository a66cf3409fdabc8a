/**
 * The one byte line scanner under the line splitter and the /v1 relay: whole lines out of
 * reads cut anywhere, bytes as they came, nothing copied that a reader does not need joined.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineTooLongError } from '../../src/errors.js';
import { LineScanner } from '../../src/streaming/line-scanner.js';
import { LineSplitter } from '../../src/streaming/line-splitter.js';
import { byteAtATime, everyBoundary, seededCuts } from '../helpers/chunking.js';
import { countCopiedBytes } from '../helpers/copied-bytes.js';

/** Every read's whole lines (the held start joined in front), then the unterminated tail: the input again. */
function reassemble(pieces: Buffer[]): { bytes: Buffer; regions: Buffer[] } {
  const scanner = new LineScanner();
  const regions: Buffer[] = [];
  for (const piece of pieces) {
    const cut = scanner.push(piece);
    const lines = piece.subarray(0, cut);
    if (cut > 0) regions.push(scanner.holdsLineStart ? scanner.joinHeld(lines) : lines);
  }
  const tail = scanner.flush();
  return { bytes: Buffer.concat(tail === undefined ? regions : [...regions, tail]), regions };
}

describe('LineScanner', () => {
  const text = Buffer.from('data: {"a":"ü 🌍"}\r\n\r\ndata: b\rc\n\nd', 'utf8');

  it('gives back the bytes as they came, each region ending on a terminator, at every cut', () => {
    for (const pieces of [[text], byteAtATime(text), seededCuts(text, 5, 7), ...everyBoundary(text)]) {
      const { bytes, regions } = reassemble(pieces);
      expect(bytes.equals(text)).toBe(true);
      for (const region of regions) expect([0x0a, 0x0d]).toContain(region[region.length - 1]);
    }
  });

  it('tells a LF that completes a CRLF cut between reads (even with an empty read between)', () => {
    const scanner = new LineScanner();
    expect(scanner.push(Buffer.from('a\r'))).toBe(2);
    expect(scanner.push(Buffer.alloc(0))).toBe(0);
    expect(scanner.push(Buffer.from('\nb\n'))).toBe(3);
    expect(scanner.firstLineStart).toBe(1);
    expect(scanner.push(Buffer.from('\nc\n'))).toBe(3);
    expect(scanner.firstLineStart).toBe(0);
  });

  it('cuts a read after its last terminator, holding the rest for the line it starts', () => {
    const scanner = new LineScanner();
    expect(scanner.push(Buffer.from('x\ny\nrest'))).toBe(4);
    expect(scanner.holdsLineStart).toBe(false);
    expect(scanner.push(Buffer.from(' of it\r\nz'))).toBe(8);
    expect(scanner.holdsLineStart).toBe(true);
    expect(scanner.joinHeld(Buffer.from(' of it')).toString()).toBe('rest of it');
    expect(scanner.flush()?.toString()).toBe('z');
  });

  it('refuses a held line longer than its limit, counted across reads', () => {
    const scanner = new LineScanner(8);
    scanner.push(Buffer.from('01234'));
    expect(() => scanner.push(Buffer.from('56789'))).toThrow(LineTooLongError);
  });

  describe('what a read that completes a held line copies', () => {
    afterEach(() => vi.restoreAllMocks());

    it('for the line splitter: the held line and its end, not the rest of the read', () => {
      const splitter = new LineSplitter();
      splitter.push(Buffer.from('data: {"start":'));
      const rest = Buffer.from(`1}\n\n${'data: {"more":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}\n\n'.repeat(20)}`);
      let lines: string[] = [];
      const copied = countCopiedBytes(() => {
        lines = splitter.push(rest);
      });
      expect(lines[0]).toBe('data: {"start":1}');
      expect(lines).toHaveLength(42);
      expect(copied).toBe('data: {"start":1}'.length);
    });
  });
});
