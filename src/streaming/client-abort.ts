import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that fires when the client hangs up before the response is complete.
 * It listens to the response socket's `close`, not `request.signal`, which on a POST
 * fires as soon as the request body has been read.
 */
export function abortOnClientClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = (): void => {
    if (!response.writableFinished) controller.abort();
  };
  response.once('close', onClose);
  return controller.signal;
}
