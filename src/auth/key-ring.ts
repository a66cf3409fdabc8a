/**
 * The keys the gateway accepts: from the keys file (hashed; hot-reloaded) and from
 * `--api-keys` (hashed in memory at start). The gateway is open only when neither is
 * configured: a keys file whose last key was revoked locks everyone out, it never opens up.
 */
import { findKey, isExpired, type KeyRecord } from './api-keys.js';

export type Authentication =
  | { outcome: 'accepted'; key: KeyRecord }
  | { outcome: 'expired'; key: KeyRecord }
  | { outcome: 'unknown' };

export class KeyRing {
  private fileKeys: readonly KeyRecord[] = [];
  private readonly plainKeys: KeyRecord[];

  constructor(private readonly keysFileConfigured: boolean, plainKeys: readonly KeyRecord[] = []) {
    this.plainKeys = [...plainKeys];
  }

  setFileKeys(records: readonly KeyRecord[]): void {
    this.fileKeys = records;
  }

  addPlainKey(record: KeyRecord): void {
    this.plainKeys.push(record);
  }

  /** True when keys are configured: every non-public request then needs one. */
  get enabled(): boolean {
    return this.keysFileConfigured || this.plainKeys.length > 0;
  }

  get size(): number {
    return this.fileKeys.length + this.plainKeys.length;
  }

  authenticate(presented: string, now: Date = new Date()): Authentication {
    const key = findKey([...this.fileKeys, ...this.plainKeys], presented);
    if (key === undefined) return { outcome: 'unknown' };
    return isExpired(key, now) ? { outcome: 'expired', key } : { outcome: 'accepted', key };
  }
}
