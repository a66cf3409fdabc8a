/**
 * In the primary: the Live feed's traffic between workers (live-across-workers.ts). It keeps
 * which workers have Live followers and tells every worker whether another one has (only then
 * does a worker send the requests it answers: no follower anywhere, nothing sent), and passes
 * each request sent on to the workers with followers.
 */
import type { Worker } from 'node:cluster';
import type { PrimaryExchange } from './exchange-primary.js';
import { TOPIC } from './messages.js';

export function relayLive(exchange: PrimaryExchange): void {
  const following = new Set<Worker>();
  /** What each worker was last told. */
  const told = new WeakMap<Worker, boolean>();
  const update = (): void => {
    for (const worker of exchange.workers()) {
      let wanted = false;
      for (const other of following) if (other !== worker) wanted = true;
      if ((told.get(worker) ?? false) === wanted) continue;
      told.set(worker, wanted);
      exchange.tell(worker, TOPIC.liveWanted, wanted);
    }
  };
  exchange.onTell(TOPIC.liveFollowing, (worker, payload) => {
    if (payload === true) following.add(worker);
    else following.delete(worker);
    update();
  });
  exchange.onTell(TOPIC.liveRequest, (worker, payload) => {
    for (const other of following) if (other !== worker) exchange.tell(other, TOPIC.liveRequest, payload);
  });
  exchange.onJoin(update);
  exchange.onLeave((worker) => {
    following.delete(worker);
    update();
  });
}
