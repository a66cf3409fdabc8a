/**
 * The keys file: `{"version":2,"keys":[KeyRecord…]}`, hashes only, written atomically with
 * owner-only permissions. Version 1 (no scopes) still loads: its keys have no scopes. A plain
 * `keys.txt` (one key per line, as the Nginx setup used) is accepted as input; it is
 * plaintext, so the caller warns about it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { KEY_SCOPES, recordForPlainKey, unusableReason, type KeyRecord } from './api-keys.js';
import { BUDGET_PERIODS } from '../usage/budget-period.js';

export const KEYS_FILE_VERSION = 2;

const KeyRecordFields = {
  id: z.string().min(1),
  name: z.string(),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  models: z.array(z.string().min(1)).optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  requestsPerMinute: z.number().int().positive().optional(),
  tokensPerMinute: z.number().int().positive().optional(),
  budgetUsd: z.number().positive().finite().optional(),
  budgetPeriod: z.enum(BUDGET_PERIODS).optional(),
};

const KeysFileSchema = z.discriminatedUnion('version', [
  // Version 1 had no scopes: a `scopes` field there is refused rather than silently dropped.
  z.object({ version: z.literal(1), keys: z.array(z.object({ ...KeyRecordFields, scopes: z.undefined({ error: `scopes need "version": ${KEYS_FILE_VERSION}` }).optional() })) }),
  z.object({ version: z.literal(KEYS_FILE_VERSION), keys: z.array(z.object({ ...KeyRecordFields, scopes: z.array(z.enum(KEY_SCOPES)).optional() })) }),
]);

export interface ParsedKeys {
  /** The keys the gateway accepts. */
  records: KeyRecord[];
  /** True when the file held keys in plain text. */
  plaintext: boolean;
  /** Keys in the file that are refused, and why (for the log; no secret in them). */
  problems: string[];
}

/** Every record in the file, usable or not (the keys commands list and rewrite them all). */
function decodeKeysFile(text: string): { records: KeyRecord[]; plaintext: boolean } {
  const trimmed = text.trim();
  if (trimmed === '') return { records: [], plaintext: false };
  if (trimmed.startsWith('{')) {
    const parsed = KeysFileSchema.safeParse(JSON.parse(trimmed));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
      throw new Error(`not a keys file: ${path}${issue?.message ?? 'bad shape'}`);
    }
    const periodAlone = parsed.data.keys.findIndex((key) => key.budgetPeriod !== undefined && key.budgetUsd === undefined);
    if (periodAlone !== -1) throw new Error(`not a keys file: keys.${periodAlone}.budgetPeriod: a budget period needs budgetUsd`);
    return { records: parsed.data.keys as KeyRecord[], plaintext: false };
  }
  const keys = trimmed.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  return { records: keys.map((key, index) => recordForPlainKey(key, `keys.txt line ${index + 1}`)), plaintext: true };
}

/** The keys the gateway serves: a key that cannot be checked safely (a bad expiry) is left out and reported. */
export function parseKeysFile(text: string): ParsedKeys {
  const decoded = decodeKeysFile(text);
  const records: KeyRecord[] = [];
  const problems: string[] = [];
  for (const record of decoded.records) {
    const problem = unusableReason(record);
    if (problem === undefined) records.push(record);
    else problems.push(problem);
  }
  return { records, plaintext: decoded.plaintext, problems };
}

export function readKeysFile(path: string): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const decoded = decodeKeysFile(text);
  if (decoded.plaintext) throw new Error(`${path} holds plaintext keys; the keys commands manage hashed key files only`);
  return decoded.records;
}

export function writeKeysFile(path: string, records: readonly KeyRecord[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ version: KEYS_FILE_VERSION, keys: records }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
