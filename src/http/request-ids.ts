/**
 * Request ids (`req-1`, `req-2`, … in base 36, as Fastify's own), one sequence per app, given
 * to Fastify as its `genReqId` and used by the answer served in front of it
 * (frontends/ollama/fast-tags.ts), so the two never hand out the same id.
 */
export function requestIdSequence(): () => string {
  let last = 0;
  return () => {
    last = (last + 1) & 0x7fffffff;
    return `req-${last.toString(36)}`;
  };
}
