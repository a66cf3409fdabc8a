/**
 * `ollama-bridge keys create|list|revoke`: manage the hashed keys file. Each returns the text
 * to print; `create` puts the new key alone on the last line (shown once, never stored).
 */
import { KEY_SCOPES, createKey, isExpired, type KeyScope } from './api-keys.js';
import { readKeysFile, writeKeysFile } from './keys-file.js';

export const DEFAULT_KEYS_FILE = 'ollama-bridge-keys.json';

export class KeysCommandError extends Error {}

export interface CreateKeyOptions {
  keysFile: string;
  name: string;
  models?: string[];
  expires?: string;
  /** This key's own limits (overriding --rate-limit-rpm/--rate-limit-tpm). */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Extra rights (`--scopes admin`, or `--admin`). */
  scopes?: string[];
  now?: Date;
}

export function createKeyCommand(options: CreateKeyOptions): string {
  const name = options.name.trim();
  if (name === '') throw new KeysCommandError('--name must not be empty');
  const records = readKeysFile(options.keysFile);
  if (records.some((record) => record.name === name)) throw new KeysCommandError(`a key named "${name}" already exists; revoke it first or choose another name`);
  let expiresAt: string | undefined;
  if (options.expires !== undefined) {
    const time = Date.parse(options.expires);
    if (Number.isNaN(time)) throw new KeysCommandError(`--expires "${options.expires}" is not a date (use e.g. 2027-01-31 or 2027-01-31T12:00:00Z)`);
    if (time <= (options.now ?? new Date()).getTime()) throw new KeysCommandError(`--expires ${options.expires} is in the past`);
    expiresAt = new Date(time).toISOString();
  }
  const models = options.models?.map((model) => model.trim()).filter((model) => model !== '');
  const scopes = scopesFrom(options.scopes ?? []);
  const { key, record } = createKey({ name, scopes, ...(models === undefined ? {} : { models }), ...(expiresAt === undefined ? {} : { expiresAt }), ...(options.now === undefined ? {} : { now: options.now }) });
  for (const [field, value, flag] of [['requestsPerMinute', options.requestsPerMinute, '--rpm'], ['tokensPerMinute', options.tokensPerMinute, '--tpm']] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) throw new KeysCommandError(`${flag} must be a positive whole number`);
    record[field] = value;
  }
  writeKeysFile(options.keysFile, [...records, record]);
  const limits = [record.requestsPerMinute && `${record.requestsPerMinute} requests/min`, record.tokensPerMinute && `${record.tokensPerMinute} tokens/min`].filter(Boolean).join(', ');
  return [
    `created key ${record.id} ("${record.name}") in ${options.keysFile}`,
    `models: ${record.models?.join(', ') ?? 'all served models'}; expires: ${record.expiresAt ?? 'never'}; limits: ${limits || 'the defaults'}; scopes: ${record.scopes?.join(', ') ?? 'none (no model management)'}`,
    'the key is shown once, below; only its hash is stored:',
    key,
  ].join('\n');
}

export function listKeysCommand(keysFile: string, now: Date = new Date()): string {
  const records = readKeysFile(keysFile);
  if (records.length === 0) return `no keys in ${keysFile}`;
  const rows = records.map((record) => [
    record.id,
    record.name,
    record.models?.join(',') ?? '*',
    record.createdAt.slice(0, 10),
    expiryCell(record.expiresAt, isExpired(record, now)),
    record.scopes?.join(',') ?? '-',
  ]);
  const header = ['ID', 'NAME', 'MODELS', 'CREATED', 'EXPIRES', 'SCOPES'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function expiryCell(expiresAt: string | undefined, expired: boolean): string {
  if (expiresAt === undefined) return 'never';
  if (Number.isNaN(Date.parse(expiresAt))) return 'not a date (refused)';
  return `${expiresAt.slice(0, 10)}${expired ? ' (expired)' : ''}`;
}

/** Validates scope names (comma-separated values allowed), without duplicates. */
function scopesFrom(values: readonly string[]): KeyScope[] {
  const scopes = new Set<KeyScope>();
  for (const value of values.flatMap((entry) => entry.split(','))) {
    const scope = value.trim();
    if (scope === '') continue;
    if (!(KEY_SCOPES as readonly string[]).includes(scope)) throw new KeysCommandError(`unknown scope "${scope}"; scopes: ${KEY_SCOPES.join(', ')}`);
    scopes.add(scope as KeyScope);
  }
  return [...scopes];
}

export function revokeKeyCommand(keysFile: string, idOrName: string): string {
  const records = readKeysFile(keysFile);
  const matches = records.filter((record) => record.id === idOrName || record.name === idOrName);
  if (matches.length === 0) throw new KeysCommandError(`no key with id or name "${idOrName}" in ${keysFile}`);
  if (matches.length > 1) throw new KeysCommandError(`"${idOrName}" names several keys; use the id`);
  writeKeysFile(keysFile, records.filter((record) => record !== matches[0]));
  return `revoked key ${matches[0]!.id} ("${matches[0]!.name}"); a running gateway stops accepting it within a second`;
}
