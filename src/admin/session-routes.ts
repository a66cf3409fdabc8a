/**
 * `GET|POST|DELETE /admin/api/session`: what the page should show, sign-in with an admin key
 * (exchanged for the session cookie and a CSRF token), sign-out. Failed sign-ins are limited
 * per client address (5 a minute, then 429 with Retry-After), counted for the whole gateway:
 * across workers, and across instances on one Redis.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { KeyRecord } from '../auth/api-keys.js';
import type { KeyRing } from '../auth/key-ring.js';
import { RateLimiter, type RequestLimiter } from '../auth/rate-limiter.js';
import { GatewayError } from '../errors.js';
import { parseBody } from '../http/request-errors.js';
import { adminCaller, assertOwnOrigin, checkAdminKey } from './admin-auth.js';
import type { SessionState, SignedIn } from './api-types.js';
import { SESSION_COOKIE, type AdminSession, type AdminSessions } from './sessions.js';

const SignInSchema = z.strictObject({ key: z.string().min(1) });

/** Failed sign-ins allowed per client address in a minute. */
export const SIGN_IN_FAILURES_PER_MINUTE = 5;

export interface SessionRoutesOptions {
  sessions: AdminSessions;
  keyRing: KeyRing;
  now: () => number;
  /** Where failures are counted (default: this process's memory). */
  failures?: RequestLimiter;
}

export function registerSessionRoutes(app: FastifyInstance, options: SessionRoutesOptions): void {
  const { sessions, keyRing } = options;
  // Failures are counted as the limiter's tokens: an address with 5 in the last minute is not admitted.
  const failures = options.failures ?? new RateLimiter(options.now);

  app.get('/admin/api/session', async (request): Promise<SessionState> => {
    const configured = sessions.adminKeysConfigured();
    const found = configured ? sessions.find(request.cookies[SESSION_COOKIE]) : undefined;
    if (found === undefined) return { signedIn: false, adminKeysConfigured: configured };
    return { signedIn: true, adminKeysConfigured: true, ...signedIn(found.key, found.session) };
  });

  app.post('/admin/api/session', async (request, reply): Promise<SignedIn> => {
    assertOwnOrigin(request);
    const subject = `admin sign-in ${request.ip}`;
    const admission = await failures.admit(subject, { tokensPerMinute: SIGN_IN_FAILURES_PER_MINUTE });
    if (!admission.admitted) {
      request.log.info({ address: request.ip }, 'admin sign-in: too many failures');
      throw new GatewayError('RATE_LIMITED', `too many failed sign-ins; retry in ${admission.retryAfterSeconds} s`, { retryAfter: String(admission.retryAfterSeconds) });
    }
    const { key: presented } = parseBody(SignInSchema, request.body);
    let key: KeyRecord;
    try {
      key = checkAdminKey(request, keyRing.authenticate([presented]));
    } catch (error) {
      failures.recordTokens(subject, 1);
      request.log.info({ address: request.ip }, 'admin sign-in refused');
      throw error;
    }
    const session = sessions.start(key);
    setSessionCookie(request, reply, session, sessions.maxAgeMs);
    request.log.info({ keyId: key.id }, 'admin sign-in');
    return signedIn(key, session);
  });

  app.delete('/admin/api/session', async (request, reply) => {
    const caller = adminCaller(request, sessions, keyRing);
    if (caller.session !== undefined) await sessions.end(caller.session);
    void reply.clearCookie(SESSION_COOKIE, { path: '/admin', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
    return reply.code(204).send();
  });
}

function signedIn(key: { id: string; name: string }, session: AdminSession): SignedIn {
  return { keyName: key.name, keyId: key.id, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt).toISOString() };
}

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, session: AdminSession, maxAgeMs: number): void {
  void reply.setCookie(SESSION_COOKIE, session.cookie, {
    path: '/admin',
    httpOnly: true,
    sameSite: 'strict',
    secure: request.protocol === 'https',
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}
