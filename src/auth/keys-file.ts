/**
 * The keys file: `{"version":1,"keys":[KeyRecord…]}`, hashes only, written atomically with
 * owner-only permissions. A plain `keys.txt` (one key per line, as the Nginx setup used) is
 * accepted as input; it is plaintext, so the caller warns about it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { recordForPlainKey, type KeyRecord } from './api-keys.js';

const KeyRecordSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  models: z.array(z.string().min(1)).optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  requestsPerMinute: z.number().int().positive().optional(),
  tokensPerMinute: z.number().int().positive().optional(),
});

const KeysFileSchema = z.object({ version: z.literal(1), keys: z.array(KeyRecordSchema) });

export interface ParsedKeys {
  records: KeyRecord[];
  /** True when the file held keys in plain text. */
  plaintext: boolean;
}

export function parseKeysFile(text: string): ParsedKeys {
  const trimmed = text.trim();
  if (trimmed === '') return { records: [], plaintext: false };
  if (trimmed.startsWith('{')) {
    const parsed = KeysFileSchema.safeParse(JSON.parse(trimmed));
    if (!parsed.success) throw new Error(`not a keys file: ${parsed.error.issues[0]?.message ?? 'bad shape'}`);
    return { records: parsed.data.keys as KeyRecord[], plaintext: false };
  }
  const keys = trimmed.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  return { records: keys.map((key, index) => recordForPlainKey(key, `keys.txt line ${index + 1}`)), plaintext: true };
}

export function readKeysFile(path: string): KeyRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = parseKeysFile(text);
  if (parsed.plaintext) throw new Error(`${path} holds plaintext keys; the keys commands manage hashed key files only`);
  return parsed.records;
}

export function writeKeysFile(path: string, records: readonly KeyRecord[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ version: 1, keys: records }, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
