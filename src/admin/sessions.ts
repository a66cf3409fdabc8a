/**
 * Admin sessions: a sign-in with an admin key is exchanged for a session cookie and a CSRF
 * token, good for a few hours. The cookie is a random session id, the key's id and expiry,
 * signed (HMAC-SHA256) with the sessions' secret; the CSRF token is derived from the session
 * id with the same secret. Nothing but signed-out sessions is kept in memory, so gateways given
 * the same secret (the workers of one `--workers` gateway) honour each other's sessions.
 *
 * Each session is bound to its key: once the key is revoked, expires or loses the admin scope,
 * the session stops working at once. Signing out ends a session in this process, and in those
 * it shares sign-outs with (the other workers of `--workers`; other instances on one Redis).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isExpired, keyHasScope, type KeyRecord } from '../auth/api-keys.js';
import type { KeyRing } from '../auth/key-ring.js';

export const SESSION_COOKIE = 'ollama_bridge_admin';
export const SESSION_MAX_AGE_MS = 8 * 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60_000;

export interface AdminSession {
  /** The random session id (not secret on its own: the signature is). */
  id: string;
  /** The cookie's value: the session, signed. */
  cookie: string;
  keyId: string;
  csrfToken: string;
  /** Unix ms. */
  expiresAt: number;
}

/** What the cookie carries: the session id, the key's id and a prefix of its hash, the expiry. */
interface SessionClaims {
  s: string;
  k: string;
  h: string;
  e: number;
}

/** Sign-outs shared with other processes that honour the same sessions. */
export interface SharedSignOuts {
  /** Tells the others of a sign-out; resolves once they know it (or have been waited for long enough). */
  announce(id: string, expiresAt: number): Promise<void>;
  /** Runs the listener on each sign-out the others announce, those made before this process listened included. */
  onSignOut(listener: (id: string, expiresAt: number) => void): void;
}

/**
 * Sign-outs heard from the others before this process listens (the admin page starts after
 * them), handed to the listener when it comes, then each as it is heard.
 */
export class HeardSignOuts {
  private readonly early = new Map<string, number>();
  private listener: ((id: string, expiresAt: number) => void) | undefined;

  heard(id: string, expiresAt: number): void {
    if (this.listener === undefined) this.early.set(id, expiresAt);
    else this.listener(id, expiresAt);
  }

  listen(listener: (id: string, expiresAt: number) => void): void {
    for (const [id, expiresAt] of this.early) listener(id, expiresAt);
    this.early.clear();
    this.listener = listener;
  }
}

/** A key that may sign in to the admin page: it has the admin scope and has not expired. */
export function isAdminKey(record: KeyRecord, now: Date = new Date()): boolean {
  return keyHasScope(record, 'admin') && !isExpired(record, now);
}

/** Whether a presented CSRF token is the session's, compared in constant time. */
export function csrfTokenMatches(session: AdminSession, presented: string | undefined): boolean {
  return presented !== undefined && sameText(session.csrfToken, presented);
}

export class AdminSessions {
  /** Sessions signed out here (id → expiry), until they would have expired anyway. */
  private readonly ended = new Map<string, number>();
  private nextSweepAt = 0;

  constructor(
    private readonly keyRing: KeyRing,
    /** Signs the cookies; gateways that share it share sessions. */
    private readonly secret: Buffer = randomBytes(32),
    private readonly now: () => number = Date.now,
    readonly maxAgeMs: number = SESSION_MAX_AGE_MS,
    private readonly shared: readonly SharedSignOuts[] = [],
  ) {
    for (const sharing of shared) sharing.onSignOut((id, expiresAt) => this.ended.set(id, expiresAt));
  }

  /** Whether any key may sign in at all. */
  adminKeysConfigured(): boolean {
    const now = new Date(this.now());
    return this.keyRing.keys.some((record) => isAdminKey(record, now));
  }

  start(key: KeyRecord): AdminSession {
    return this.session({ s: randomBytes(24).toString('base64url'), k: key.id, h: hashPrefix(key), e: this.now() + this.maxAgeMs });
  }

  /** The session under this cookie value and its key, while both are good. */
  find(cookie: string | undefined): { session: AdminSession; key: KeyRecord } | undefined {
    this.sweep();
    const claims = this.verify(cookie);
    if (claims === undefined) return undefined;
    const now = this.now();
    if (claims.e <= now || this.ended.has(claims.s)) return undefined;
    const key = this.keyRing.keys.find((record) => record.id === claims.k && hashPrefix(record) === claims.h);
    if (key === undefined || !isAdminKey(key, new Date(now))) return undefined;
    return { session: this.session(claims), key };
  }

  /** Ends the session here, and resolves once the processes it shares sign-outs with know. */
  async end(session: AdminSession): Promise<void> {
    this.ended.set(session.id, session.expiresAt);
    await Promise.all(this.shared.map((sharing) => sharing.announce(session.id, session.expiresAt)));
  }

  private session(claims: SessionClaims): AdminSession {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return {
      id: claims.s,
      cookie: `${payload}.${this.mac(`session\n${payload}`)}`,
      keyId: claims.k,
      csrfToken: this.mac(`csrf\n${claims.s}`),
      expiresAt: claims.e,
    };
  }

  /** The claims of a cookie whose signature is good; undefined for anything else. */
  private verify(cookie: string | undefined): SessionClaims | undefined {
    if (cookie === undefined) return undefined;
    const dot = cookie.indexOf('.');
    if (dot === -1) return undefined;
    const payload = cookie.slice(0, dot);
    if (!sameText(this.mac(`session\n${payload}`), cookie.slice(dot + 1))) return undefined;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<SessionClaims>;
      if (typeof claims.s !== 'string' || typeof claims.k !== 'string' || typeof claims.h !== 'string' || typeof claims.e !== 'number') return undefined;
      return claims as SessionClaims;
    } catch {
      return undefined;
    }
  }

  private mac(text: string): string {
    return createHmac('sha256', this.secret).update(text, 'utf8').digest('base64url');
  }

  /** At most once a minute: forgets the signed-out sessions that have expired anyway. */
  private sweep(): void {
    const now = this.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const [id, expiresAt] of this.ended) if (expiresAt <= now) this.ended.delete(id);
  }
}

/** Binds a session to the key's secret too: a key re-created under the same id does not inherit it. */
function hashPrefix(record: KeyRecord): string {
  return record.hash.slice(-16);
}

function sameText(expected: string, given: string): boolean {
  const left = Buffer.from(expected);
  const right = Buffer.from(given);
  return left.length === right.length && timingSafeEqual(left, right);
}
