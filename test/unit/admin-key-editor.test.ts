/** The admin key editor's field rules over a real keys file: what a patch sets, clears and refuses. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KeyEditor } from '../../src/admin/key-editor.js';
import { KeyRing } from '../../src/auth/key-ring.js';
import { readKeysFile } from '../../src/auth/keys-file.js';
import { GatewayError } from '../../src/errors.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
let directory: string;
let keysFile: string;
let ring: KeyRing;
let editor: KeyEditor;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-key-editor-'));
  keysFile = join(directory, 'keys.json');
  ring = new KeyRing(true);
  editor = new KeyEditor(keysFile, ring, () => NOW);
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const refusal = (apply: () => unknown): { status: number; message: string } => {
  try {
    apply();
  } catch (error) {
    if (error instanceof GatewayError) return { status: error.statusCode, message: error.message };
    throw error;
  }
  throw new Error('not refused');
};

describe('KeyEditor', () => {
  it('a created key is in the file and the ring at once, and the listeners hear of it', () => {
    const heard: string[][] = [];
    editor.onKeysChanged.push((records) => heard.push(records.map((record) => record.name)));
    const { key, record } = editor.create({ name: ' ci ', models: [' openai/* ', ''], budgetUsd: 3, expiresAt: '2027-01-01' });
    expect(record).toMatchObject({ name: 'ci', models: ['openai/*'], budgetUsd: 3, budgetPeriod: 'month', expiresAt: '2027-01-01T00:00:00.000Z' });
    expect(readKeysFile(keysFile)).toEqual([record]);
    expect(ring.authenticate([key])).toMatchObject({ outcome: 'accepted', key: { id: record.id } });
    expect(heard).toEqual([['ci']]);
  });

  it('a patch sets what it names, null clears back to the default, the rest stays', () => {
    const { record } = editor.create({ name: 'ci', budgetUsd: 3, budgetPeriod: 'week', requestsPerMinute: 10, models: ['a/*'] });
    expect(editor.update(record.id, { budgetPeriod: 'day' })).toMatchObject({ budgetUsd: 3, budgetPeriod: 'day', requestsPerMinute: 10, models: ['a/*'] });
    expect(editor.update(record.id, { budgetUsd: 7 })).toMatchObject({ budgetUsd: 7, budgetPeriod: 'day' });
    expect(editor.update(record.id, { budgetPeriod: null })).toMatchObject({ budgetUsd: 7, budgetPeriod: 'month' });
    const cleared = editor.update(record.id, { budgetUsd: null, requestsPerMinute: null, models: [] });
    expect(cleared.budgetUsd).toBeUndefined();
    expect(cleared.budgetPeriod).toBeUndefined();
    expect(cleared.requestsPerMinute).toBeUndefined();
    expect(cleared.models).toBeUndefined();
    expect(readKeysFile(keysFile)[0]).toEqual(cleared);
  });

  it('refuses a period without a budget (400), a name taken (409), an unknown id (404)', () => {
    const { record } = editor.create({ name: 'ci' });
    editor.create({ name: 'other' });
    expect(refusal(() => editor.update(record.id, { budgetPeriod: 'week' }))).toEqual({ status: 400, message: 'budgetPeriod needs budgetUsd' });
    expect(refusal(() => editor.update(record.id, { name: 'other' })).status).toBe(409);
    expect(refusal(() => editor.revoke('nothing')).status).toBe(404);
    // Renaming a key to its own name is no conflict.
    expect(editor.update(record.id, { name: 'ci' }).name).toBe('ci');
  });

  it('without a keys file nothing is editable (409)', () => {
    const readOnly = new KeyEditor(undefined, ring);
    expect(readOnly.editable).toBe(false);
    expect(refusal(() => readOnly.create({ name: 'x' })).status).toBe(409);
  });
});
