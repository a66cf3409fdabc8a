import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createKey, hashKey, isExpired, recordForPlainKey } from '../../src/auth/api-keys.js';
import { MAX_PRESENTED_KEYS, presentedKeys, stripPathKey } from '../../src/auth/credentials.js';
import { KeyRing } from '../../src/auth/key-ring.js';
import { parseKeysFile } from '../../src/auth/keys-file.js';

describe('presentedKeys', () => {
  it('returns every presented key, in a fixed order, without repeats, at most one per way', () => {
    const raw = { url: '/key/from-path/v1/models' } as IncomingMessage;
    stripPathKey(raw);
    const basic = `Basic ${Buffer.from('user:from-basic').toString('base64')}`;
    expect(presentedKeys({ authorization: basic, 'x-api-key': 'from-header', 'api-key': 'from-header' }, raw)).toEqual([
      { key: 'from-basic', source: 'basic' },
      { key: 'from-header', source: 'x-api-key' },
      { key: 'from-path', source: 'path' },
    ]);
    const all = presentedKeys({ authorization: 'Bearer a', 'x-api-key': 'b', 'api-key': 'c' }, raw);
    expect(all.map((candidate) => candidate.source)).toEqual(['authorization', 'x-api-key', 'api-key', 'path']);
    expect(all.length).toBeLessThanOrEqual(MAX_PRESENTED_KEYS);
  });

  it('an empty Bearer presents nothing', () => {
    expect(presentedKeys({ authorization: 'Bearer ' }, {} as IncomingMessage)).toEqual([]);
  });
});

describe('KeyRing.authenticate', () => {
  const valid = createKey({ name: 'valid' });
  const expired = createKey({ name: 'old', expiresAt: '2020-01-01T00:00:00.000Z' });
  const ring = new KeyRing(true, [valid.record, expired.record]);

  it('accepts the first valid candidate, wherever it is', () => {
    expect(ring.authenticate(['ollama', valid.key])).toMatchObject({ outcome: 'accepted', key: valid.record, candidate: 1 });
  });

  it('reports an expired key only when no candidate is valid', () => {
    expect(ring.authenticate([expired.key, valid.key])).toMatchObject({ outcome: 'accepted', candidate: 1 });
    expect(ring.authenticate(['nope', expired.key])).toMatchObject({ outcome: 'expired', key: expired.record });
    expect(ring.authenticate(['nope'])).toEqual({ outcome: 'unknown' });
  });
});

describe('expiry', () => {
  it('an expiresAt that is not a date counts as expired (fails closed)', () => {
    expect(isExpired({ ...createKey({ name: 'x' }).record, expiresAt: 'someday' })).toBe(true);
    expect(isExpired({ ...createKey({ name: 'x' }).record, expiresAt: '2999-01-01' })).toBe(false);
  });

  it('the keys file leaves such a key out and says why, naming its id', () => {
    const bad = createKey({ name: 'bad' }).record;
    const good = createKey({ name: 'good' }).record;
    const parsed = parseKeysFile(JSON.stringify({ version: 2, keys: [{ ...bad, expiresAt: 'never!' }, good] }));
    expect(parsed.records.map((record) => record.id)).toEqual([good.id]);
    expect(parsed.problems).toEqual([expect.stringContaining(`key ${bad.id} ("bad")`)]);
  });
});

describe('plain keys', () => {
  it('get an id that is not a prefix of the key\'s bare hash, the same within a process, and no scopes', () => {
    const record = recordForPlainKey('hunter2', 'api-keys #1');
    expect(record.id).toMatch(/^[0-9a-f]{8}$/);
    expect(hashKey('hunter2')).not.toContain(record.id);
    expect(recordForPlainKey('hunter2', 'again').id).toBe(record.id);
    expect(record.scopes).toBeUndefined();
  });
});
