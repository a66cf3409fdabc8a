/**
 * Budgets in the keys file: optional fields of a key record (version 2, and version 1 files
 * still load); a budget that cannot be meant is refused with where it is.
 */
import { describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/api-keys.js';
import { parseKeysFile } from '../../src/auth/keys-file.js';

const record = { id: 'abcd1234', name: 'ci', hash: hashKey('obk_abcd1234_secret'), createdAt: '2026-01-01T00:00:00.000Z' };
const file = (version: number, fields: Record<string, unknown>) => JSON.stringify({ version, keys: [record, { ...record, id: 'efgh5678', name: 'other', ...fields }] });

describe('budgets in the keys file', () => {
  it('loads budgetUsd and budgetPeriod, in version 2 and version 1 files', () => {
    expect(parseKeysFile(file(2, { budgetUsd: 2.5, budgetPeriod: 'week' })).records[1]).toMatchObject({ budgetUsd: 2.5, budgetPeriod: 'week' });
    expect(parseKeysFile(file(1, { budgetUsd: 10 })).records[1]).toMatchObject({ budgetUsd: 10 });
    expect(parseKeysFile(file(2, {})).records[0]!.budgetUsd).toBeUndefined();
  });

  it.each([
    [{ budgetUsd: 0 }, /^not a keys file: keys\.1\.budgetUsd: /],
    [{ budgetUsd: -1 }, /^not a keys file: keys\.1\.budgetUsd: /],
    [{ budgetUsd: '5' }, /^not a keys file: keys\.1\.budgetUsd: /],
    [{ budgetUsd: 5, budgetPeriod: 'year' }, /^not a keys file: keys\.1\.budgetPeriod: /],
    [{ budgetPeriod: 'day' }, /^not a keys file: keys\.1\.budgetPeriod: a budget period needs budgetUsd$/],
  ])('refuses %j', (fields, message) => {
    expect(() => parseKeysFile(file(2, fields))).toThrow(message);
  });
});
