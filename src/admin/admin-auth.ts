/**
 * Who may use the admin API: an admin key as a bearer token (scripts), or a signed-in session
 * (the page's cookie). A call made with the cookie from another origin is refused, and one
 * that changes something must also carry the session's CSRF token (`X-CSRF-Token`); a bearer
 * call carries no ambient credential and needs neither. Without any admin key configured,
 * every guarded route answers 403 with how to create one.
 */
import type { FastifyRequest } from 'fastify';
import { presentedKeys } from '../auth/credentials.js';
import type { KeyRecord } from '../auth/api-keys.js';
import type { Authentication, KeyRing } from '../auth/key-ring.js';
import { isOwnOrigin } from '../auth/origins.js';
import { GatewayError } from '../errors.js';
import { SESSION_COOKIE, csrfTokenMatches, isAdminKey, type AdminSession, type AdminSessions } from './sessions.js';

export const NO_ADMIN_KEY_MESSAGE = 'no admin key: create one with `ollama-bridge keys create --name NAME --admin --keys-file FILE`';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AdminCaller {
  key: KeyRecord;
  /** Set when the caller signed in (cookie); absent for a bearer key. */
  session?: AdminSession;
}

/** The admin key a request presents in its headers (bearer), or undefined when it presents none; 401/403 for a bad one. */
export function bearerAdminKey(request: FastifyRequest, keyRing: KeyRing): KeyRecord | undefined {
  const presented = presentedKeys(request.headers, request.raw);
  if (presented.length === 0) return undefined;
  return checkAdminKey(request, keyRing.authenticate(presented.map((candidate) => candidate.key)));
}

/** The key of an authentication when it may use the admin API: else 401 (unknown, expired) or 403 (no admin scope). */
export function checkAdminKey(request: FastifyRequest, result: Authentication): KeyRecord {
  if (result.outcome === 'unknown') throw new GatewayError('UNAUTHORIZED', 'invalid API key');
  if (result.outcome === 'expired') throw new GatewayError('UNAUTHORIZED', 'this API key has expired');
  if (!isAdminKey(result.key)) {
    request.log.info({ keyId: result.key.id }, 'admin API: a key without the admin scope was refused');
    throw new GatewayError('FORBIDDEN', 'this API key has no admin scope: the admin API needs a key created with `ollama-bridge keys create --admin`');
  }
  return result.key;
}

/** Refuses a request whose Origin header names another site than the gateway itself (as the browser addressed it: through a trusted proxy, its forwarded scheme and host). */
export function assertOwnOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, request.protocol, request.host)) {
    request.log.info('admin API: a call from another origin was refused');
    throw new GatewayError('FORBIDDEN', `origin "${origin}" may not use the admin API: only the gateway's own page may`);
  }
}

/** The caller of a guarded admin route, or throws 401/403. */
export function adminCaller(request: FastifyRequest, sessions: AdminSessions, keyRing: KeyRing): AdminCaller {
  if (!sessions.adminKeysConfigured()) throw new GatewayError('FORBIDDEN', NO_ADMIN_KEY_MESSAGE);
  const bearer = bearerAdminKey(request, keyRing);
  if (bearer !== undefined) return { key: bearer };
  const found = sessions.find(request.cookies[SESSION_COOKIE]);
  if (found === undefined) {
    throw new GatewayError('UNAUTHORIZED', 'sign in first (POST /admin/api/session with an admin key), or send "Authorization: Bearer <admin key>"');
  }
  assertOwnOrigin(request);
  if (!SAFE_METHODS.has(request.method) && !csrfTokenMatches(found.session, single(request.headers['x-csrf-token']))) {
    request.log.info({ keyId: found.key.id }, 'admin API: a call without the session\'s CSRF token was refused');
    throw new GatewayError('FORBIDDEN', 'missing or wrong X-CSRF-Token header: send the csrfToken of GET /admin/api/session');
  }
  return { key: found.key, session: found.session };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
