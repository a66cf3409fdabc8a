/**
 * Admin sessions: a sign-in with an admin key is exchanged for an opaque random id (the
 * cookie) and a CSRF token, kept in memory for a few hours. Each session is bound to its key:
 * once the key is revoked, expires or loses the admin scope, the session stops working at once.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isExpired, keyHasScope, type KeyRecord } from '../auth/api-keys.js';
import type { KeyRing } from '../auth/key-ring.js';

export const SESSION_COOKIE = 'ollama_bridge_admin';
export const SESSION_MAX_AGE_MS = 8 * 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60_000;

export interface AdminSession {
  id: string;
  keyId: string;
  /** The key's hash: a key re-created under the same id does not inherit the session. */
  keyHash: string;
  csrfToken: string;
  /** Unix ms. */
  expiresAt: number;
}

/** A key that may sign in to the admin page: it has the admin scope and has not expired. */
export function isAdminKey(record: KeyRecord, now: Date = new Date()): boolean {
  return keyHasScope(record, 'admin') && !isExpired(record, now);
}

/** Whether a presented CSRF token is the session's, compared in constant time. */
export function csrfTokenMatches(session: AdminSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export class AdminSessions {
  private readonly sessions = new Map<string, AdminSession>();
  private nextSweepAt = 0;

  constructor(
    private readonly keyRing: KeyRing,
    private readonly now: () => number = Date.now,
    readonly maxAgeMs: number = SESSION_MAX_AGE_MS,
  ) {}

  /** Whether any key may sign in at all. */
  adminKeysConfigured(): boolean {
    const now = new Date(this.now());
    return this.keyRing.keys.some((record) => isAdminKey(record, now));
  }

  start(key: KeyRecord): AdminSession {
    this.sweep();
    const session: AdminSession = {
      id: randomBytes(32).toString('base64url'),
      keyId: key.id,
      keyHash: key.hash,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + this.maxAgeMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The session under this cookie value and its key, while both are good; a dead session is forgotten. */
  find(id: string | undefined): { session: AdminSession; key: KeyRecord } | undefined {
    this.sweep();
    if (id === undefined || id === '') return undefined;
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.now();
    const key = this.keyRing.keys.find((record) => record.id === session.keyId && record.hash === session.keyHash);
    if (session.expiresAt <= now || key === undefined || !isAdminKey(key, new Date(now))) {
      this.sessions.delete(id);
      return undefined;
    }
    return { session, key };
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  /** How many sessions are held (for tests). */
  get size(): number {
    return this.sessions.size;
  }

  /** At most once a minute: drops the sessions that have expired. */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}
