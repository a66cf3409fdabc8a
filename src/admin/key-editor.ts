/**
 * Creates, edits and revokes keys in the keys file (`--keys-file`) for the admin API, by the
 * rules `keys create` uses (auth/key-fields.ts). Each change is written atomically
 * (writeKeysFile) and applied to the key ring at once: a new key works, an edited one is
 * limited and a revoked one refused on the next request, without waiting for the file watcher
 * (whose reload of the same file afterwards changes nothing). `onKeysChanged` listeners hear
 * of every write.
 */
import { z } from 'zod';
import { createKey, unusableReason, type KeyRecord } from '../auth/api-keys.js';
import { KeyFieldError, KeyNameTakenError, keyBudget, keyExpiry, keyLimit, keyModels, keyName } from '../auth/key-fields.js';
import type { KeyRing } from '../auth/key-ring.js';
import { readKeysFile, writeKeysFile } from '../auth/keys-file.js';
import { GatewayError } from '../errors.js';
import { BUDGET_PERIODS } from '../usage/budget-period.js';
import { isAdminKey } from './sessions.js';

const limit = z.number().nullable().optional();

/** A new key (KeyInput in api-types.ts); the field rules themselves are key-fields.ts's. */
export const KeyInputSchema = z.strictObject({
  name: z.string(),
  models: z.array(z.string()).nullable().optional(),
  admin: z.boolean().optional(),
  requestsPerMinute: limit,
  tokensPerMinute: limit,
  budgetUsd: limit,
  budgetPeriod: z.enum(BUDGET_PERIODS).nullable().optional(),
  expiresAt: z.string().nullable().optional(),
});

/** The fields to change (KeyPatch); null clears one. */
export const KeyPatchSchema = KeyInputSchema.partial();

type KeyInput = z.output<typeof KeyInputSchema>;
type KeyPatch = z.output<typeof KeyPatchSchema>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The admin API's key editor: `onKeysChanged` hears of every write of the keys file. */
    adminKeyEditor: KeyEditor;
  }
}

export type KeysChangedListener = (records: readonly KeyRecord[]) => void;

export class KeyEditor {
  /** Called after every write of the keys file, with its records (another instance's shared state hooks in here). */
  readonly onKeysChanged: KeysChangedListener[] = [];

  constructor(
    /** The keys file; undefined when none is configured (nothing is editable). */
    readonly path: string | undefined,
    private readonly keyRing: KeyRing,
    private readonly now: () => number = Date.now,
  ) {}

  get editable(): boolean {
    return this.path !== undefined;
  }

  create(input: KeyInput): { key: string; record: KeyRecord } {
    const records = this.read();
    const now = new Date(this.now());
    const name = fieldRule(() => keyName(input.name, 'name', records));
    const { key, record } = createKey({ name, now, ...(input.admin === true ? { scopes: ['admin'] } : {}) });
    fieldRule(() => applyFields(record, input, now));
    this.write([...records, record]);
    return { key, record };
  }

  update(id: string, patch: KeyPatch): KeyRecord {
    const records = this.read();
    const index = this.indexOf(records, id);
    const record: KeyRecord = { ...records[index]! };
    const now = new Date(this.now());
    if (patch.name !== undefined) record.name = fieldRule(() => keyName(patch.name!, 'name', records.filter((_, at) => at !== index)));
    if (patch.admin === true) record.scopes = [...new Set([...(record.scopes ?? []), 'admin' as const])];
    if (patch.admin === false) {
      const scopes = (record.scopes ?? []).filter((scope) => scope !== 'admin');
      if (scopes.length > 0) record.scopes = scopes;
      else delete record.scopes;
    }
    fieldRule(() => applyFields(record, patch, now));
    const updated = records.map((candidate, at) => (at === index ? record : candidate));
    this.keepAnAdmin(records, updated);
    this.write(updated);
    return record;
  }

  revoke(id: string): KeyRecord {
    const records = this.read();
    const index = this.indexOf(records, id);
    const remaining = records.filter((_, at) => at !== index);
    this.keepAnAdmin(records, remaining);
    this.write(remaining);
    return records[index]!;
  }

  private read(): KeyRecord[] {
    if (this.path === undefined) throw conflict('no keys file is configured: start the gateway with --keys-file FILE to create and edit keys here');
    try {
      return readKeysFile(this.path);
    } catch (error) {
      throw conflict(`the keys file cannot be edited here: ${(error as Error).message}`);
    }
  }

  private write(records: readonly KeyRecord[]): void {
    writeKeysFile(this.path!, records);
    this.keyRing.setFileKeys(records.filter((record) => unusableReason(record) === undefined));
    for (const listener of this.onKeysChanged) listener(records);
  }

  private indexOf(records: readonly KeyRecord[], id: string): number {
    const index = records.findIndex((record) => record.id === id);
    if (index !== -1) return index;
    if (this.keyRing.keys.some((record) => record.id === id && this.keyRing.isPlain(record))) {
      throw conflict(`key ${id} comes from --api-keys (or was generated at start-up): it cannot be edited or revoked here`);
    }
    throw new GatewayError('BAD_REQUEST', `no key with id "${id}" in the keys file`, { statusCode: 404 });
  }

  /** Refuses a change that would leave no admin key when there was one: nobody could sign in again. */
  private keepAnAdmin(before: readonly KeyRecord[], after: readonly KeyRecord[]): void {
    const now = new Date(this.now());
    if (before.some((record) => isAdminKey(record, now)) && !after.some((record) => isAdminKey(record, now))) {
      throw conflict('that would leave no admin key, and nobody could sign in here again: give another key the admin scope first');
    }
  }
}

/** The optional fields of a KeyInput or KeyPatch onto a record: a value sets, null clears (back to the default). */
function applyFields(record: KeyRecord, fields: KeyPatch, now: Date): void {
  if (fields.models !== undefined) {
    const models = keyModels(fields.models ?? []);
    if (models.length > 0) record.models = models;
    else delete record.models;
  }
  for (const field of ['requestsPerMinute', 'tokensPerMinute'] as const) {
    const value = fields[field];
    if (value === null) delete record[field];
    else if (value !== undefined) record[field] = keyLimit(value, field);
  }
  if (fields.budgetUsd === null) {
    delete record.budgetUsd;
    delete record.budgetPeriod;
  } else if (fields.budgetUsd !== undefined || fields.budgetPeriod !== undefined) {
    // A period of null is the default one (month).
    const period = fields.budgetPeriod === null ? undefined : (fields.budgetPeriod ?? record.budgetPeriod);
    Object.assign(record, keyBudget(fields.budgetUsd ?? record.budgetUsd, period, { usd: 'budgetUsd', period: 'budgetPeriod' }));
  }
  if (fields.expiresAt === null) delete record.expiresAt;
  else if (fields.expiresAt !== undefined) record.expiresAt = keyExpiry(fields.expiresAt, 'expiresAt', now);
}

/** A broken field rule is the client's 400; a name another key has, 409. */
function fieldRule<T>(apply: () => T): T {
  try {
    return apply();
  } catch (error) {
    if (error instanceof KeyNameTakenError) throw conflict(error.message);
    if (error instanceof KeyFieldError) throw new GatewayError('BAD_REQUEST', error.message);
    throw error;
  }
}

function conflict(message: string): GatewayError {
  return new GatewayError('BAD_REQUEST', message, { statusCode: 409 });
}
