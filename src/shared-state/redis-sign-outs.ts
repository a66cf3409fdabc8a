/**
 * Admin sign-outs shared by every gateway on one Redis (admin/sessions.ts's SharedSignOuts;
 * the gateways share ADMIN_SESSION_SECRET, hence sessions). A sign-out is stored under a key
 * of its own that expires when the session would have (nothing to sweep), and announced on a
 * channel: each gateway refuses it from the moment it hears it. On every (re)connection a
 * gateway reads the stored ones (those made while it was starting or cut off). While Redis is
 * down a sign-out holds where it was made (and in that gateway's other workers); it is stored
 * and announced once this gateway reaches Redis again, if the session has not expired by then.
 */
import { HeardSignOuts, type SharedSignOuts } from '../admin/sessions.js';
import type { RedisConnection } from './redis-connection.js';

const PREFIX = 'ollama-bridge:admin-signed-out:';
const CHANNEL = 'ollama-bridge:admin-signed-out';
const SCAN_COUNT = 200;

export class RedisSignOuts implements SharedSignOuts {
  private readonly heard = new HeardSignOuts();
  /** Sign-outs Redis did not take yet (it was down): stored and announced when it is back. */
  private readonly pending = new Map<string, number>();

  constructor(private readonly redis: RedisConnection, private readonly now: () => number = Date.now) {
    redis.onReady(() => void this.announcePending());
    redis.subscriber.on('message', (channel: string, message: string) => {
      if (channel === CHANNEL) this.received(message);
    });
    // Subscribed, it reads the stored ones: a sign-out stored before the subscription was heard by no message.
    redis.subscriber.on('ready', () => {
      redis.subscriber.subscribe(CHANNEL).then(() => this.load(), () => undefined);
    });
  }

  async announce(id: string, expiresAt: number): Promise<void> {
    if (!(await this.store(id, expiresAt))) this.pending.set(id, expiresAt);
  }

  /** Stores and announces one sign-out; false when Redis did not take it (the session still runs). */
  private async store(id: string, expiresAt: number): Promise<boolean> {
    const ttlMs = expiresAt - this.now();
    if (ttlMs <= 0) return true;
    if (!this.redis.ready) return false;
    try {
      await this.redis.client.multi().set(`${PREFIX}${id}`, String(expiresAt), 'PX', ttlMs).publish(CHANNEL, `${expiresAt} ${id}`).exec();
      this.redis.answered();
      return true;
    } catch {
      return false;
    }
  }

  private async announcePending(): Promise<void> {
    for (const [id, expiresAt] of [...this.pending]) {
      if (await this.store(id, expiresAt)) this.pending.delete(id);
    }
  }

  onSignOut(listener: (id: string, expiresAt: number) => void): void {
    this.heard.listen(listener);
  }

  private add(id: string, expiresAt: number): void {
    if (Number.isFinite(expiresAt) && id !== '') this.heard.heard(id, expiresAt);
  }

  private received(message: string): void {
    const space = message.indexOf(' ');
    if (space !== -1) this.add(message.slice(space + 1), Number(message.slice(0, space)));
  }

  private async load(): Promise<void> {
    try {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.client.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', SCAN_COUNT);
        cursor = next;
        if (keys.length === 0) continue;
        const values = await this.redis.client.mget(...keys);
        keys.forEach((key, index) => this.add(key.slice(PREFIX.length), Number(values[index])));
      } while (cursor !== '0');
    } catch {
      // Read again at the next connection.
    }
  }
}
