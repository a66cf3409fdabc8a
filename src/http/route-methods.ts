/**
 * Which methods have a route matching a concrete path, for telling 405 from 404. Fastify's
 * hasRoute/findRoute compare route patterns, not paths: a `*` in a request path throws there
 * ("Wildcard must be the last character"), and `/api/blobs/sha256:x` is no `:digest` route.
 */
const MATCHED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export class RouteMethods {
  private readonly routes: Array<{ method: string; pattern: RegExp }> = [];

  /** From Fastify's onRoute hook: `url` is the full pattern (`/v1/models/*`, `/api/blobs/:digest`). */
  add(methods: string | readonly string[], url: string): void {
    const pattern = patternFor(url);
    for (const method of typeof methods === 'string' ? [methods] : methods) {
      if ((MATCHED_METHODS as readonly string[]).includes(method)) this.routes.push({ method, pattern });
    }
  }

  /** Whether a method other than `method` has a route for `path` (no query string). */
  otherMethodServes(path: string, method: string): boolean {
    return this.routes.some((route) => route.method !== method && route.pattern.test(path));
  }
}

function patternFor(url: string): RegExp {
  const parts = url.split('/').map((segment) => {
    if (segment === '*') return '.*';
    if (segment.startsWith(':')) return '[^/]+';
    return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}$`);
}
