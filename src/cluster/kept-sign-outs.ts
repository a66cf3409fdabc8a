/**
 * In the primary: the admin sessions signed out in any worker, until they would have expired
 * anyway, for the workers that start later (a replacement, a rolling restart) to refuse them
 * too (sign-outs-across-workers.ts).
 */
import type { PrimaryExchange } from './exchange-primary.js';
import { TOPIC } from './messages.js';
import { isSignOut, type SignOut } from './sign-outs-across-workers.js';

export function keepSignOuts(exchange: PrimaryExchange, now: () => number = Date.now): void {
  const signedOut = new Map<string, number>();
  exchange.onGather(TOPIC.signOut, {
    askWorkers: true,
    heard: (payload) => {
      if (!isSignOut(payload)) return;
      const time = now();
      for (const [id, expiresAt] of signedOut) if (expiresAt <= time) signedOut.delete(id);
      if (payload.expiresAt > time) signedOut.set(payload.id, payload.expiresAt);
    },
  });
  exchange.onGather(TOPIC.signOuts, {
    askWorkers: false,
    own: () => [...signedOut].map(([id, expiresAt]): SignOut => ({ id, expiresAt })),
  });
}
