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
  // Named: GET /api/tags, answered in front of Fastify (frontends/ollama/fast-tags.ts), makes these hooks' decisions
  // itself and checks their names at start-up. A change in what one decides is a change there too.
  app.addHook('onRequest', function sayWhichWorker(_request, reply, done) {
    reply.header(WORKER_HEADER, id);
    done();
  });
}
