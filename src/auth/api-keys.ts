/**
 * Client API keys: generation, hashing and constant-time matching. Only hashes are stored.
 *
 * A key looks like `obk_<id>_<secret>`: the 8-character id is not secret (logs and
 * `keys list` show it), the 32-character secret is 190 bits of randomness. Keys are
 * high-entropy, so a single SHA-256 is a sound hash for them (no password stretching needed).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseModelList, type ModelListCheck } from '../core/model-filter.js';
import type { BudgetPeriod } from '../usage/budget-period.js';
import { ALPHANUMERIC, randomString } from '../core/ids.js';

/** What a key may do beyond using models. `admin`: model management on an upstream Ollama. */
export const KEY_SCOPES = ['admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export interface KeyRecord {
  /** Short, non-secret identifier shown in logs and listings. */
  id: string;
  name: string;
  /** `sha256:<hex>` of the whole key. */
  hash: string;
  /** Model globs this key may use; empty or absent = every served model. */
  models?: string[];
  createdAt: string;
  /** ISO date-time after which the key no longer works. */
  expiresAt?: string;
  /** Requests per minute allowed for this key (overrides the default). */
  requestsPerMinute?: number;
  /** Tokens per minute allowed for this key (overrides the default). */
  tokensPerMinute?: number;
  /** Extra rights; absent = none (use models only). */
  scopes?: KeyScope[];
  /** USD this key may spend per budget period (overrides the default budget). */
  budgetUsd?: number;
  /** The period `budgetUsd` covers (calendar UTC); absent = month. */
  budgetPeriod?: BudgetPeriod;
}

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export interface NewKey {
  key: string;
  record: KeyRecord;
}

export function createKey(options: { name: string; models?: string[]; expiresAt?: string; scopes?: KeyScope[]; now?: Date }): NewKey {
  const id = randomString(8);
  const key = `obk_${id}_${randomString(32, ALPHANUMERIC)}`;
  const record: KeyRecord = { id, name: options.name, hash: hashKey(key), createdAt: (options.now ?? new Date()).toISOString() };
  if (options.models !== undefined && options.models.length > 0) record.models = options.models;
  if (options.expiresAt !== undefined) record.expiresAt = options.expiresAt;
  if (options.scopes !== undefined && options.scopes.length > 0) record.scopes = options.scopes;
  return { key, record };
}

/**
 * Salts the log ids of plain keys. A plain key may be a short password: an id derived from
 * its bare hash would let anyone holding a log line test guesses offline. Per process, so
 * a plain key's id changes on every start.
 */
const PLAIN_KEY_ID_SALT = randomBytes(32);

/** A record for a key given in plain text (`--api-keys`, keys.txt), with no scopes. Its id is a salted HMAC, not the key's hash. */
export function recordForPlainKey(key: string, name: string): KeyRecord {
  const id = createHmac('sha256', PLAIN_KEY_ID_SALT).update(key, 'utf8').digest('hex').slice(0, 8);
  return { id, name, hash: hashKey(key), createdAt: new Date(0).toISOString() };
}

export function keyHasScope(record: KeyRecord, scope: KeyScope): boolean {
  return record.scopes?.includes(scope) === true;
}

/** Finds the record whose hash matches, comparing every candidate in constant time. */
export function findKey(records: readonly KeyRecord[], presented: string): KeyRecord | undefined {
  const presentedHash = Buffer.from(hashKey(presented));
  let found: KeyRecord | undefined;
  for (const record of records) {
    const stored = Buffer.from(record.hash);
    if (stored.length === presentedHash.length && timingSafeEqual(stored, presentedHash) && found === undefined) found = record;
  }
  return found;
}

/** An expiry that is not a date fails closed: the key counts as expired. */
export function isExpired(record: KeyRecord, now: Date = new Date()): boolean {
  if (record.expiresAt === undefined) return false;
  const expiry = Date.parse(record.expiresAt);
  return Number.isNaN(expiry) || expiry <= now.getTime();
}

/** Why a key from a file cannot be used at all, or undefined when it can. Names the id, never the key. */
export function unusableReason(record: KeyRecord): string | undefined {
  if (record.expiresAt !== undefined && Number.isNaN(Date.parse(record.expiresAt))) {
    return `key ${record.id} ("${record.name}") has an expiresAt that is not a date (${JSON.stringify(record.expiresAt)}); it is refused until fixed`;
  }
  return undefined;
}

const accessLists = new WeakMap<KeyRecord, ModelListCheck>();

/**
 * Whether a key may use a model, given the model's id and listed name. The key's entries are
 * read as the models filter reads its lines (ids, short names, globs, `!` to exclude; the last
 * entry that matches either name decides). Compiled once per key record.
 */
export function keyAllowsModel(record: KeyRecord | undefined, names: readonly string[]): boolean {
  if (record?.models === undefined || record.models.length === 0) return true;
  let allows = accessLists.get(record);
  if (allows === undefined) {
    allows = parseModelList(record.models);
    accessLists.set(record, allows);
  }
  return allows(names);
}
