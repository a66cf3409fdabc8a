/**
 * Admin sign-outs under `--workers` (admin/sessions.ts's SharedSignOuts): a worker that signs
 * a session out tells every other worker through the primary and waits until each has it (or
 * 2 s), so the next request with that cookie is refused whichever worker takes it. A worker
 * starting asks the primary for the sign-outs still unexpired (kept-sign-outs.ts) before it
 * serves. Undefined outside a worker.
 */
import { HeardSignOuts, type SharedSignOuts } from '../admin/sessions.js';
import { workerExchange } from './exchange-worker.js';
import { TOPIC } from './messages.js';

export interface SignOut {
  id: string;
  expiresAt: number;
}

export async function signOutsAcrossWorkers(): Promise<SharedSignOuts | undefined> {
  const exchange = workerExchange();
  if (exchange === undefined) return undefined;
  // Heard from now on, before the sessions listen: none is missed between the two.
  const heard = new HeardSignOuts();
  exchange.report(TOPIC.signOut, (payload) => {
    if (!isSignOut(payload)) return false;
    heard.heard(payload.id, payload.expiresAt);
    return true;
  });
  for (const signOut of (await exchange.gather(TOPIC.signOuts)).filter(isSignOut)) heard.heard(signOut.id, signOut.expiresAt);
  return {
    announce: async (id, expiresAt) => {
      await exchange.gather(TOPIC.signOut, { id, expiresAt } satisfies SignOut);
    },
    onSignOut: (listener) => heard.listen(listener),
  };
}

export function isSignOut(value: unknown): value is SignOut {
  if (typeof value !== 'object' || value === null) return false;
  const signOut = value as Partial<SignOut>;
  return typeof signOut.id === 'string' && typeof signOut.expiresAt === 'number';
}
