import { describe, expect, it } from 'vitest';
import { LineSplitter, LineTooLongError } from '../../src/streaming/line-splitter.js';
import { byteAtATime, everyBoundary } from '../helpers/chunking.js';

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
});
