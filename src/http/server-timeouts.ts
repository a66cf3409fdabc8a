/**
 * Node's server timeouts. `requestTimeout` and `headersTimeout` bound only the receiving of a
 * request (a client too slow to send it gets 408): once the body is in, nothing limits the
 * answer, so a stream may last for hours. No socket inactivity timeout either: silence in a
 * stream is the upstream idle timeout's business.
 */
export function serverTimeouts(requestReceiveTimeoutMs: number) {
  const requestTimeout = requestReceiveTimeoutMs;
  // Node's default for headers, and never longer than the whole request may take.
  const headersTimeout = requestTimeout === 0 ? 60_000 : Math.min(60_000, requestTimeout);
  return {
    requestTimeout,
    headersTimeout,
    // How often Node looks for connections past those timeouts (its default: 30 s).
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(headersTimeout / 4))),
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
  };
}
