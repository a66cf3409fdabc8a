import { describe, expect, it } from 'vitest';
import { decidingRule, parseModelFilter } from '../../src/core/model-filter.js';

const ids = ['openai/gpt-4o', 'openai/gpt-4o-mini', 'anthropic/claude-3-haiku', 'anthropic/claude-sonnet-4.5', 'deepseek/deepseek-chat-v3:free', 'meta-llama/llama-3.3-70b-instruct:free', 'other/gpt-4o'];
const served = (text: string) => ids.filter((id) => parseModelFilter(text).allows(id));

describe('models filter', () => {
  it('an exact id serves only that model', () => {
    expect(served('openai/gpt-4o')).toEqual(['openai/gpt-4o']);
  });

  it('a short name serves that model from any vendor, never by prefix or substring', () => {
    expect(served('gpt-4o')).toEqual(['openai/gpt-4o', 'other/gpt-4o']);
  });

  it('globs match the whole id, or the part after the vendor when they have no slash', () => {
    expect(served('anthropic/*')).toEqual(['anthropic/claude-3-haiku', 'anthropic/claude-sonnet-4.5']);
    expect(served('*:free')).toEqual(['deepseek/deepseek-chat-v3:free', 'meta-llama/llama-3.3-70b-instruct:free']);
    expect(served('gpt-4o*')).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini', 'other/gpt-4o']);
  });

  it('! negates, and the last matching entry decides', () => {
    expect(served('anthropic/*\n!anthropic/claude-3-haiku')).toEqual(['anthropic/claude-sonnet-4.5']);
    expect(served('!anthropic/claude-3-haiku\nanthropic/*')).toEqual(['anthropic/claude-3-haiku', 'anthropic/claude-sonnet-4.5']);
  });

  it('a file of only negations trims the full catalog', () => {
    expect(served('!*:free\n!other/*')).toEqual(['openai/gpt-4o', 'openai/gpt-4o-mini', 'anthropic/claude-3-haiku', 'anthropic/claude-sonnet-4.5']);
  });

  it('ignores comments, blank lines, case and a :latest tag', () => {
    expect(served('# the ones I pay for\n\n  OpenAI/GPT-4o:latest   # main\n')).toEqual(['openai/gpt-4o']);
  });

  it('an empty file serves everything', () => {
    expect(served('')).toEqual(ids);
    expect(served('# nothing yet\n')).toEqual(ids);
  });

  it('skips lines it cannot understand and says which', () => {
    const filter = parseModelFilter('openai/gpt-4o\nthis line has spaces\n!\n');
    expect(filter.rules.map((rule) => rule.pattern)).toEqual(['openai/gpt-4o']);
    expect(filter.problems).toEqual(['line 2: cannot understand "this line has spaces"', 'line 3: cannot understand "!"']);
    expect(ids.filter((id) => filter.allows(id))).toEqual(['openai/gpt-4o']);
  });

  it('accepts the example file shipped with the project', async () => {
    const { readFileSync } = await import('node:fs');
    const filter = parseModelFilter(readFileSync(new URL('../../models-filter.txt.example', import.meta.url), 'utf8'));
    expect(filter.problems).toEqual([]);
    expect(filter.allows('openai/gpt-4o')).toBe(true);
    expect(filter.allows('anthropic/claude-3-haiku-20240307')).toBe(false);
    expect(filter.allows('mistralai/mistral-large')).toBe(false);
  });
});

describe('decidingRule', () => {
  const filter = parseModelFilter('# comment\nanthropic/*\n\n!anthropic/claude-3-haiku\ngpt-4o   # short name');
  const line = (name: string) => {
    const rule = decidingRule(filter, [name]);
    return rule === undefined ? undefined : `${rule.line}: ${rule.negated ? '!' : ''}${rule.pattern}`;
  };

  it('names the last line that matches, with its number in the file', () => {
    expect(line('anthropic/claude-sonnet-4.5')).toBe('2: anthropic/*');
    expect(line('anthropic/claude-3-haiku')).toBe('4: !anthropic/claude-3-haiku');
    expect(line('other/GPT-4o:latest')).toBe('5: gpt-4o');
  });

  it('none when no line matches (and agrees with allows)', () => {
    expect(line('mistralai/mistral-small')).toBeUndefined();
    for (const id of ids) expect(decidingRule(filter, [id])?.negated === false).toBe(filter.allows(id));
  });

  it('any of the names may match (a model\'s id and its listed name)', () => {
    expect(decidingRule(filter, ['vendor/unknown', 'anthropic/x'])?.line).toBe(2);
  });
});
