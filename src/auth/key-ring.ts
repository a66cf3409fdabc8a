/**
 * The keys the gateway accepts: from the keys file (hashed; hot-reloaded) and from
 * `--api-keys` (hashed in memory at start). The gateway is open only when neither is
 * configured: a keys file whose last key was revoked locks everyone out, it never opens up.
 */
import { findKey, isExpired, type KeyRecord } from './api-keys.js';

export type Authentication =
  /** `candidate`: the index of the presented value that matched. */
  | { outcome: 'accepted'; key: KeyRecord; candidate: number }
  | { outcome: 'expired'; key: KeyRecord }
  | { outcome: 'unknown' };

/** Where a new set of file keys came from: this gateway (its keys file, its admin page) or another one sharing its Redis. */
export type KeysOrigin = 'local' | 'peer';

export type FileKeysListener = (records: readonly KeyRecord[], origin: KeysOrigin) => void;

export class KeyRing {
  private fileKeys: readonly KeyRecord[] = [];
  private readonly listeners: FileKeysListener[] = [];
  private readonly plainKeys: KeyRecord[];
  private all: readonly KeyRecord[];

  constructor(private readonly keysFileConfigured: boolean, plainKeys: readonly KeyRecord[] = []) {
    this.plainKeys = [...plainKeys];
    this.all = this.plainKeys;
  }

  setFileKeys(records: readonly KeyRecord[], origin: KeysOrigin = 'local'): void {
    this.fileKeys = records;
    this.all = [...this.fileKeys, ...this.plainKeys];
    for (const listener of this.listeners) listener(records, origin);
  }

  /** Called after each new set of file keys (shared-state/redis-key-sync.ts passes local ones on). */
  onFileKeysChanged(listener: FileKeysListener): void {
    this.listeners.push(listener);
  }

  /** The keys from the keys file (or from a peer gateway), as last set. */
  get currentFileKeys(): readonly KeyRecord[] {
    return this.fileKeys;
  }

  /** True when a keys file is configured: only such gateways take part in sharing keys. */
  get hasKeysFile(): boolean {
    return this.keysFileConfigured;
  }

  addPlainKey(record: KeyRecord): void {
    this.plainKeys.push(record);
    this.all = [...this.fileKeys, ...this.plainKeys];
  }

  /** Every key: the keys file's first, then the plain ones. */
  get keys(): readonly KeyRecord[] {
    return this.all;
  }

  /** Whether a key came from --api-keys or was generated at start-up (not from the keys file). */
  isPlain(record: KeyRecord): boolean {
    return this.plainKeys.includes(record);
  }

  /** True when keys are configured: every non-public request then needs one. */
  get enabled(): boolean {
    return this.keysFileConfigured || this.plainKeys.length > 0;
  }

  get size(): number {
    return this.fileKeys.length + this.plainKeys.length;
  }

  /**
   * A request may present several values (a dummy Bearer next to a path key): the first that
   * is a valid key is accepted. Only when none is: an expired one is reported, else unknown.
   */
  authenticate(candidates: readonly string[], now: Date = new Date()): Authentication {
    let expired: KeyRecord | undefined;
    for (let candidate = 0; candidate < candidates.length; candidate++) {
      const key = findKey(this.all, candidates[candidate]!);
      if (key === undefined) continue;
      if (!isExpired(key, now)) return { outcome: 'accepted', key, candidate };
      expired ??= key;
    }
    return expired === undefined ? { outcome: 'unknown' } : { outcome: 'expired', key: expired };
  }
}
