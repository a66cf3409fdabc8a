import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../../src/streaming/sse-decoder.js';
import { byteAtATime, everyBoundary } from '../helpers/chunking.js';

function decode(pieces: Buffer[]): string[] {
  const decoder = new SseDecoder();
  return [...pieces.flatMap((piece) => decoder.push(piece)), ...decoder.flush()];
}

describe('SseDecoder', () => {
  it('drops comments and never hands them to the caller', () => {
    expect(decode([Buffer.from(': OPENROUTER PROCESSING\n\ndata: {"a":1}\n\n: x\n\n')])).toEqual(['{"a":1}']);
  });

  it('accepts data with and without the space after the colon', () => {
    expect(decode([Buffer.from('data:{"a":1}\n\ndata: {"b":2}\n\n')])).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('joins multi-line data with LF', () => {
    expect(decode([Buffer.from('data: line one\ndata: line two\n\n')])).toEqual(['line one\nline two']);
  });

  it('ignores event, id and retry fields', () => {
    expect(decode([Buffer.from('event: message\nid: 7\nretry: 100\ndata: x\n\n')])).toEqual(['x']);
  });

  it('delivers an event whose blank line never came at end of stream', () => {
    expect(decode([Buffer.from('data: [DONE]\n')])).toEqual(['[DONE]']);
  });

  const framed = Buffer.from(': c\r\n\r\ndata: {"t":"ça 🌍"}\r\n\r\ndata:[DONE]\r\n\r\n', 'utf8');
  it('handles CRLF framing at every cut and one byte at a time', () => {
    const expected = ['{"t":"ça 🌍"}', '[DONE]'];
    expect(decode([framed])).toEqual(expected);
    for (const pieces of everyBoundary(framed)) expect(decode(pieces)).toEqual(expected);
    expect(decode(byteAtATime(framed))).toEqual(expected);
  });
});
