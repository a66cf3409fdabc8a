/**
 * In a worker of `--workers`, every answer says which worker gave it
 * (`x-ollama-bridge-worker: <cluster worker id>`, a new id for each worker started, replacements
 * included): for debugging a balance, and for the tests.
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';

export const WORKER_HEADER = 'x-ollama-bridge-worker';

/** This worker's id, undefined outside a worker. */
export function workerId(): string | undefined {
  return cluster.worker === undefined ? undefined : String(cluster.worker.id);
}

export function addWorkerHeader(app: FastifyInstance): void {
  const id = workerId();
  if (id === undefined) return;
  // Named: the answer served in front of Fastify checks at start-up that these are the hooks its route runs.
  app.addHook('onRequest', function sayWhichWorker(_request, reply, done) {
    reply.header(WORKER_HEADER, id);
    done();
  });
}
