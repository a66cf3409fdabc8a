/** Pieces both fake upstreams use. */
import type { IncomingMessage, ServerResponse } from 'node:http';

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

/** A request's body as the fakes record it: the bytes, and the JSON they hold (the text when it is not JSON, undefined when empty). */
export function readRequestBody(request: IncomingMessage): Promise<{ rawBody: Buffer; body: any }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const text = rawBody.toString('utf8');
      let body: any;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      resolve({ rawBody, body });
    });
  });
}
