/**
 * Key changes and revocations shared by every gateway on one Redis, within a second. Each
 * gateway with a keys file publishes its new set of key records (hashes only, never a key)
 * when it changes here (the keys file reloaded, the admin page's edit): the newest set is kept
 * in Redis and announced on a channel; the others apply it to their key ring and write it to
 * their own keys file (atomically), so a restart keeps it. On every (re)connection a gateway
 * compares its set with the stored one: the newer wins (a change made while Redis was down
 * is published then; one made elsewhere meanwhile is applied).
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import type { KeyRecord } from '../auth/api-keys.js';
import type { KeyRing } from '../auth/key-ring.js';
import { parseKeysFile, writeKeysFile } from '../auth/keys-file.js';
import type { Log } from '../core/log.js';
import type { RedisConnection } from './redis-connection.js';

const STORED_KEY = 'ollama-bridge:keys';
const CHANNEL = 'ollama-bridge:keys-changed';

/** Stores the set and announces it, unless the stored one is newer. KEYS: stored, channel. ARGV: payload, its changedAt. */
const PUBLISH_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, current = pcall(cjson.decode, stored)
  if ok and tonumber(current.changedAt) and tonumber(current.changedAt) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1])
return 1
`;

interface KeySet {
  /** When the set was made (Unix ms): the newer set wins. */
  changedAt: number;
  digest: string;
  /** The gateway that published it. */
  from: string;
  keys: KeyRecord[];
}

interface ScriptCommands {
  publishKeys(storedKey: string, channel: string, payload: string, changedAt: number): Promise<number>;
}

export class RedisKeySync {
  private readonly instance = randomBytes(6).toString('base64url');
  private readonly commands: ScriptCommands;
  private changedAt: number;
  private digest: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keyRing: KeyRing,
    /** This gateway's keys file: peers' sets are written there. */
    private readonly keysFile: string,
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {
    this.digest = digestOf(keyRing.currentFileKeys);
    this.changedAt = modifiedAt(keysFile);
    redis.client.defineCommand('publishKeys', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
    this.commands = redis.client as unknown as ScriptCommands;
    keyRing.onFileKeysChanged((records, origin) => {
      if (origin === 'local') this.localChange(records);
    });
    redis.subscriber.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) this.received(message);
    });
    // Subscribed, it compares again: a set stored before the subscription was heard by no message.
    redis.subscriber.on('ready', () => {
      redis.subscriber.subscribe(CHANNEL).then(() => this.reconcile(), () => undefined);
    });
    redis.onReady(() => void this.reconcile());
  }

  private localChange(records: readonly KeyRecord[]): void {
    const digest = digestOf(records);
    // A peer's set written to the keys file comes back through its watcher: nothing new.
    if (digest === this.digest) return;
    this.digest = digest;
    this.changedAt = Math.max(this.now(), this.changedAt + 1);
    void this.publish(records);
  }

  private async publish(records: readonly KeyRecord[]): Promise<void> {
    if (!this.redis.ready) {
      // Published on the reconnection (reconcile), if still the newest.
      this.redis.countFallback('keys');
      return;
    }
    const set: KeySet = { changedAt: this.changedAt, digest: this.digest, from: this.instance, keys: [...records] };
    try {
      await this.commands.publishKeys(STORED_KEY, CHANNEL, JSON.stringify(set), set.changedAt);
      this.redis.answered();
    } catch {
      this.redis.countFallback('keys');
    }
  }

  /** On each (re)connection: the newer of the stored set and this gateway's wins. */
  private async reconcile(): Promise<void> {
    let stored: string | null;
    try {
      stored = await this.redis.client.get(STORED_KEY);
    } catch {
      return;
    }
    const set = stored === null ? undefined : this.parse(stored);
    if (set !== undefined && set.digest === this.digest) return;
    if (set !== undefined && set.changedAt > this.changedAt) {
      this.apply(set);
      return;
    }
    await this.publish(this.keyRing.currentFileKeys);
  }

  private received(message: string): void {
    const set = this.parse(message);
    if (set === undefined || set.from === this.instance || set.digest === this.digest || set.changedAt < this.changedAt) return;
    this.apply(set);
  }

  private apply(set: KeySet): void {
    this.digest = set.digest;
    this.changedAt = set.changedAt;
    this.keyRing.setFileKeys(set.keys, 'peer');
    try {
      writeKeysFile(this.keysFile, set.keys);
    } catch (error) {
      this.log.warn({ path: this.keysFile, reason: (error as Error).message }, 'keys from another gateway are served, but could not be written to the keys file; a restart would serve the old ones');
    }
    this.log.info({ keys: set.keys.length }, 'keys file: applied the keys changed on another gateway');
  }

  /** A set from Redis, checked as a keys file is: undefined when it is not one. */
  private parse(text: string): KeySet | undefined {
    try {
      const value = JSON.parse(text) as Partial<KeySet>;
      if (typeof value.changedAt !== 'number' || typeof value.digest !== 'string' || typeof value.from !== 'string' || !Array.isArray(value.keys)) return undefined;
      const parsed = parseKeysFile(JSON.stringify({ version: 2, keys: value.keys }));
      if (parsed.plaintext) return undefined;
      return { changedAt: value.changedAt, digest: digestOf(parsed.records), from: value.from, keys: parsed.records };
    } catch {
      this.log.warn({}, 'redis: ignored a key set that is not a keys file');
      return undefined;
    }
  }
}

/** The same for the same records whatever the order of their fields. */
function digestOf(records: readonly KeyRecord[]): string {
  const canonical = records.map((record) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined).sort(([left], [right]) => (left < right ? -1 : 1))));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function modifiedAt(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
