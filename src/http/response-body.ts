/**
 * Reading an upstream answer so that its connection survives. Leaving a for-await over an
 * undici body early destroys the socket (and allocates an AbortError with a stack); after the
 * answer's last event we want the opposite: drain what is left (the `[DONE]` frame's blank
 * line, the chunked-encoding trailer) and let the connection go back to the pool. Only a
 * consumer that stops before the end (a client that hung up) destroys the body, which also
 * tells the upstream to stop.
 */
import type { Dispatcher } from 'undici';

type Body = Dispatcher.ResponseData['body'];

export interface ReusableBody {
  chunks: AsyncIterable<Uint8Array>;
  /** completed: the answer's final event was read. */
  release(completed: boolean): void;
}

export function reusableBody(body: Body): ReusableBody {
  return {
    chunks: body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>,
    release(completed) {
      if (completed) body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      else body.destroy();
    },
  };
}
