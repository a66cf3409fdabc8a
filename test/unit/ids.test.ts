import { describe, expect, it } from 'vitest';
import { ALPHANUMERIC, LOWERCASE_ALPHANUMERIC, createToolCallId, randomString } from '../../src/core/ids.js';
import { createKey } from '../../src/auth/api-keys.js';

/** How often each character of `alphabet` comes up in `draws` characters, as a share of the mean. */
function spread(alphabet: string, draws: number): { lowest: number; highest: number } {
  const counts = new Map<string, number>();
  const text = randomString(draws, alphabet);
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  const mean = draws / alphabet.length;
  const shares = [...alphabet].map((character) => (counts.get(character) ?? 0) / mean);
  return { lowest: Math.min(...shares), highest: Math.max(...shares) };
}

describe('random ids (one generator for ids and key secrets)', () => {
  it('draws only from the alphabet asked for, at the length asked for', () => {
    expect(randomString(40)).toMatch(/^[a-z0-9]{40}$/);
    expect(randomString(40, ALPHANUMERIC)).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(randomString(0)).toBe('');
    expect(createToolCallId()).toMatch(/^call_[a-z0-9]{8}$/);
  });

  it('draws every character equally often (no modulo bias toward the first characters)', () => {
    // 256 % 36 = 4: a plain byte % 36 makes a–d 8/7 as likely as the rest (+14 %). Here the
    // standard deviation of a share is about 1 %, so ±5 % holds for a uniform draw.
    for (const alphabet of [LOWERCASE_ALPHANUMERIC, ALPHANUMERIC]) {
      const { lowest, highest } = spread(alphabet, alphabet.length * 10_000);
      expect(lowest).toBeGreaterThan(0.95);
      expect(highest).toBeLessThan(1.05);
    }
  });

  it('a client key is obk_<8 lowercase>_<32 mixed-case>, its id the 8', () => {
    const { key, record } = createKey({ name: 'test' });
    expect(key).toMatch(/^obk_[a-z0-9]{8}_[A-Za-z0-9]{32}$/);
    expect(key.slice(4, 12)).toBe(record.id);
  });
});
