/**
 * Run as a process (framing-check-in-worker.test.ts): a cluster primary whose first worker
 * serves a shared port-0 listener on 127.0.0.1, as a gateway started with `--port 0` does,
 * and whose second worker then runs the chunk framing check (before its own gateway would
 * listen). Prints one JSON line: the checks' results and how many requests the first
 * worker's listener received (none, if the check's server has a port of its own).
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { checkDirectFraming } from '../../src/streaming/chunk-framing-check.js';

const CHECKS = 8;

if (cluster.isPrimary) {
  const first = cluster.fork({ ROLE: 'listener' });
  await once(first, 'listening');
  const second = cluster.fork({ ROLE: 'check' });
  const [checks] = (await once(second, 'message')) as [unknown];
  first.send('count');
  const [received] = (await once(first, 'message')) as [unknown];
  console.log(JSON.stringify({ checks, received }));
  first.kill();
  second.kill();
} else if (process.env.ROLE === 'listener') {
  let received = 0;
  const server = createServer((_request, response) => {
    received++;
    response.end('the first worker');
  });
  server.listen(0, '127.0.0.1');
  process.on('message', () => process.send?.(received));
} else {
  const checks = [];
  for (let index = 0; index < CHECKS; index++) checks.push(await checkDirectFraming());
  process.send?.(checks);
}
