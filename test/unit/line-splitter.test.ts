import { afterEach, describe, expect, it, vi } from 'vitest';
import { LineTooLongError } from '../../src/errors.js';
import { LineSplitter } from '../../src/streaming/line-splitter.js';
import { byteAtATime, everyBoundary } from '../helpers/chunking.js';
import { countCopiedBytes } from '../helpers/copied-bytes.js';

function split(pieces: Buffer[]): string[] {
  const splitter = new LineSplitter();
  const lines = pieces.flatMap((piece) => splitter.push(piece));
  return [...lines, ...splitter.flush()];
}

describe('LineSplitter', () => {
  const text = Buffer.from('first\nsecond — ü 🌍\r\nthird\rfourth\r\n\nlast', 'utf8');
  const expected = ['first', 'second — ü 🌍', 'third', 'fourth', '', 'last'];

  it('splits on LF, CRLF and lone CR', () => {
    expect(split([text])).toEqual(expected);
  });

  it('gives the same lines at every cut, including inside a UTF-8 character and between CR and LF', () => {
    for (const pieces of everyBoundary(text)) expect(split(pieces)).toEqual(expected);
  });

  it('gives the same lines one byte at a time', () => {
    expect(split(byteAtATime(text))).toEqual(expected);
  });

  it('does not invent an empty line for a CRLF cut between reads', () => {
    expect(split([Buffer.from('a\r'), Buffer.from('\nb\n')])).toEqual(['a', 'b']);
  });

  it('keeps only the unfinished tail between reads', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('abc'))).toEqual([]);
    expect(splitter.push(Buffer.from('def\ngh'))).toEqual(['abcdef']);
    expect(splitter.flush()).toEqual(['gh']);
    expect(splitter.flush()).toEqual([]);
  });

  it('refuses a line longer than its limit', () => {
    const splitter = new LineSplitter(8);
    expect(() => splitter.push(Buffer.from('0123456789'))).toThrow(LineTooLongError);
  });

  it('counts a line held across reads against its limit', () => {
    const splitter = new LineSplitter(8);
    expect(splitter.push(Buffer.from('01234'))).toEqual([]);
    expect(() => splitter.push(Buffer.from('56789'))).toThrow(LineTooLongError);
  });

  describe('a long line arriving in many reads', () => {
    afterEach(() => vi.restoreAllMocks());

    it('copies bytes in proportion to the line, not to the square of its reads (4 MB in 16 KB reads)', () => {
      const line = Buffer.alloc(4 * 1024 * 1024, 0x61);
      const reads: Buffer[] = [];
      for (let offset = 0; offset < line.length; offset += 16 * 1024) reads.push(line.subarray(offset, offset + 16 * 1024));
      reads.push(Buffer.from('\nnext\n'));
      const splitter = new LineSplitter();
      const lines: string[] = [];
      const copied = countCopiedBytes(() => {
        for (const read of reads) lines.push(...splitter.push(read));
      });
      expect(lines).toHaveLength(2);
      expect(lines[0]!.length).toBe(line.length);
      expect(lines[1]).toBe('next');
      // Each byte is copied into the held pieces once and joined once. Copying the held
      // start again on every read would be about 256 × 4 MB / 2 = 512 MB.
      expect(copied).toBeLessThanOrEqual(3 * line.length);
    });
  });
});

describe('LineSplitter on the LineScanner', () => {
  it('does not invent an empty line for a CRLF cut by an empty read between CR and LF', () => {
    expect(split([Buffer.from('a\r'), Buffer.alloc(0), Buffer.from('\nb\n')])).toEqual(['a', 'b']);
  });
});
