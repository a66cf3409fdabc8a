/** Pieces both fake upstreams use. */
import type { ServerResponse } from 'node:http';

/** Sleeps, but wakes up early when the client goes away (so no timer outlives a closed fake). */
export function sleepUnlessClosed(response: ServerResponse, ms: number): Promise<void> {
  if (response.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      response.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    response.once('close', done);
  });
}
