/**
 * Admin sign-outs under `--workers` (admin/sessions.ts's SharedSignOuts): a worker that signs
 * a session out tells every other worker through the primary and waits until each has it (or
 * 2 s), so the next request with that cookie is refused whichever worker takes it. A worker
 * starting asks the primary for the sign-outs still unexpired (kept-sign-outs.ts) before it
 * serves. Undefined outside a worker.
 */
import type { SharedSignOuts } from '../admin/sessions.js';
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
  const heard: SignOut[] = [];
  let listener: ((id: string, expiresAt: number) => void) | undefined;
  exchange.report(TOPIC.signOut, (payload) => {
    if (!isSignOut(payload)) return false;
    if (listener === undefined) heard.push(payload);
    else listener(payload.id, payload.expiresAt);
    return true;
  });
  heard.push(...(await exchange.gather(TOPIC.signOuts)).filter(isSignOut));
  return {
    announce: async (id, expiresAt) => {
      await exchange.gather(TOPIC.signOut, { id, expiresAt } satisfies SignOut);
    },
    onSignOut: (added) => {
      for (const signOut of heard.splice(0)) added(signOut.id, signOut.expiresAt);
      listener = added;
    },
  };
}

export function isSignOut(value: unknown): value is SignOut {
  if (typeof value !== 'object' || value === null) return false;
  const signOut = value as Partial<SignOut>;
  return typeof signOut.id === 'string' && typeof signOut.expiresAt === 'number';
}
