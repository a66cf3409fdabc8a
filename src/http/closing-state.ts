/**
 * How the gateway closes, in two steps.
 *
 * Draining (a worker leaving in a rolling restart of `--workers`): the listener stops taking
 * connections, and every request that still arrives is answered, with `Connection: close`.
 * A connection handed over just before the listener closed (by the kernel's queue or the
 * primary's round robin) may not have been read yet: http.Server's own close() would destroy
 * it as idle, and its client would see the connection drop without an answer.
 *
 * Closing: a request that still arrives (pipelined behind an answer that is finishing) gets
 * 503 in its route's dialect, with Retry-After and `Connection: close`.
 */
import { Server as NetServer } from 'node:net';
import type { Server as HttpServer } from 'node:http';

export type ClosingStep = 'open' | 'draining' | 'closing';

export class ClosingState {
  step: ClosingStep = 'open';

  /** Stops taking new connections, and nothing else (http.Server's close() also destroys the idle ones). */
  drain(server: HttpServer): void {
    if (this.step !== 'open') return;
    this.step = 'draining';
    NetServer.prototype.close.call(server);
  }

  close(): void {
    this.step = 'closing';
  }
}
