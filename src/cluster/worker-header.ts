/**
 * In a worker of `--workers`, every answer says which worker gave it
 * (`x-ollama-bridge-worker: <cluster worker id>`, a new id for each worker started, replacements
 * included): for debugging a balance, and for the tests.
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';

export const WORKER_HEADER = 'x-ollama-bridge-worker';

export function addWorkerHeader(app: FastifyInstance): void {
  const worker = cluster.worker;
  if (worker === undefined) return;
  const id = String(worker.id);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(WORKER_HEADER, id);
    done();
  });
}
