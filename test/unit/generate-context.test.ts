import { describe, expect, it } from 'vitest';
import { CONTEXT_MARKER, decodeGenerateContext, encodeGenerateContext } from '../../src/frontends/ollama/generate-context.js';

describe('generate context', () => {
  it('round-trips a conversation, any characters included', () => {
    const messages = [
      { role: 'system' as const, content: 'Réponds en "français".\n' },
      { role: 'user' as const, content: 'Qui est Kirk ? 🖖 星际' },
    ];
    const context = encodeGenerateContext(messages, 'Le capitaine 🚀');
    expect(context[0]).toBe(CONTEXT_MARKER);
    expect(context.every((value) => Number.isInteger(value) && value >= 0 && value <= 0x7fffffff)).toBe(true);
    expect(decodeGenerateContext(context)).toEqual([...messages, { role: 'assistant', content: 'Le capitaine 🚀' }]);
  });

  it('keeps text only: images and tool turns are not part of it', () => {
    const context = encodeGenerateContext([{ role: 'user', content: 'look', images: ['data:image/png;base64,AAAA'] }], 'a cat');
    expect(decodeGenerateContext(context)).toEqual([{ role: 'user', content: 'look' }, { role: 'assistant', content: 'a cat' }]);
  });

  it('round-trips long conversations (past one fromCodePoint chunk)', () => {
    const long = 'x'.repeat(50_000);
    expect(decodeGenerateContext(encodeGenerateContext([{ role: 'user', content: long }], long))[1]!.content).toBe(long);
  });

  it.each([
    ['token ids from a real Ollama', [128006, 882, 128007, 271, 13347]],
    ['the marker and garbage', [CONTEXT_MARKER, 1, 2, 3]],
    ['a code point out of range', [CONTEXT_MARKER, 0x110000]],
    ['a fraction', [CONTEXT_MARKER, 91.5, 93]],
    ['an unknown role', encodeGenerateContext([], 'x').map((value, index) => (index === 4 ? 'q'.codePointAt(0)! : value))],
    ['a prototype key as role', [CONTEXT_MARKER, ...[...'[["__proto__","x"]]'].map((character) => character.codePointAt(0)!)]],
    ['not a list of turns', [CONTEXT_MARKER, ...[...'{"a":1}'].map((character) => character.codePointAt(0)!)]],
  ])('refuses %s with a 400 that says what to send', (_name, context) => {
    expect(() => decodeGenerateContext(context)).toThrowError(expect.objectContaining({
      statusCode: 400,
      message: 'context was not made by this server: ollama-bridge encodes the conversation in context, not token ids; send back the context of its last answer unchanged, or none',
    }));
  });
});
