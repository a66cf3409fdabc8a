import { describe, expect, it } from 'vitest';
import { compileGlob, isGlob } from '../../src/core/glob.js';

const matches = (pattern: string, candidates: string[], options = {}) => {
  const matcher = compileGlob(pattern, options);
  return candidates.filter((candidate) => matcher(candidate));
};

describe('the one glob compiler', () => {
  it('ignores case on both sides, for globs and for plain names', () => {
    expect(matches('OpenAI/*', ['openai/gpt-4o', 'OPENAI/GPT-4O', 'anthropic/x'])).toEqual(['openai/gpt-4o', 'OPENAI/GPT-4O']);
    expect(matches('OpenAI/GPT-4o', ['openai/gpt-4o', 'openai/gpt-4o-mini'])).toEqual(['openai/gpt-4o']);
  });

  it('a plain name matches by equality: never by prefix or substring', () => {
    expect(isGlob('openai/gpt-4o')).toBe(false);
    expect(matches('gpt-4o', ['gpt-4o', 'gpt-4o-mini', 'xgpt-4o'])).toEqual(['gpt-4o']);
  });

  it('by default * stops at /; starCrossesSlash lets it cross, as origins need', () => {
    expect(matches('app://*', ['app://obsidian.md', 'app://a/b'])).toEqual(['app://obsidian.md']);
    expect(matches('app://*', ['app://obsidian.md', 'app://a/b'], { starCrossesSlash: true })).toEqual(['app://obsidian.md', 'app://a/b']);
    expect(matches('anthropic/*', ['anthropic/claude', 'anthropic/a/b'])).toEqual(['anthropic/claude']);
  });

  it('anyVendor: a pattern without / also matches after the first /; one with / only the whole name', () => {
    const ids = ['openai/gpt-4o', 'other/gpt-4o', 'openai/gpt-4o-mini', 'deepseek/r1:free'];
    expect(matches('gpt-4o', ids)).toEqual([]);
    expect(matches('gpt-4o', ids, { anyVendor: true })).toEqual(['openai/gpt-4o', 'other/gpt-4o']);
    expect(matches('gpt-4o*', ids, { anyVendor: true })).toEqual(['openai/gpt-4o', 'other/gpt-4o', 'openai/gpt-4o-mini']);
    expect(matches('*:free', ids, { anyVendor: true })).toEqual(['deepseek/r1:free']);
    expect(matches('openai/gpt-4o', ids, { anyVendor: true })).toEqual(['openai/gpt-4o']);
  });

  it('a leading ! is never a negation (the model lists read it themselves)', () => {
    expect(matches('!openai/*', ['openai/gpt-4o', 'anthropic/claude'])).toEqual([]);
    expect(matches('!x', ['!x', 'y'])).toEqual(['!x']);
  });

  it('braces, classes and ? are globs', () => {
    expect(matches('{openai,anthropic}/*', ['openai/a', 'anthropic/b', 'meta/c'])).toEqual(['openai/a', 'anthropic/b']);
    expect(matches('gpt-4.?', ['gpt-4.1', 'gpt-4.10'])).toEqual(['gpt-4.1']);
  });
});
