import type { ServerResponse } from 'node:http';

declare module 'fastify' {
  interface FastifyInstance {
    /** Answers streaming now (see ActiveStreams). */
    activeStreams: ActiveStreams;
  }
}

/**
 * How many streamed answers are open: each counts from its headers to its response's
 * `close` (ended, failed or cut off by the client). One listener per stream, nothing per chunk.
 */
export class ActiveStreams {
  private open = 0;

  get count(): number {
    return this.open;
  }

  /** A streamed answer's headers go out now. */
  track(response: ServerResponse): void {
    this.open++;
    response.once('close', () => {
      this.open--;
    });
  }
}
