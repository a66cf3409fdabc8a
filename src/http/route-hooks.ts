/**
 * The hooks Fastify runs for one route, read from `printRoutes({ includeHooks: true })`, its
 * only public view of them: by hook name (onRequest, onError…), each hook's function name in
 * the order they run (`anonymous` for a function without a name).
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';

const HOOK_LINE = /^[│\s]*• \((\w+)\) (\[.*\])$/;

/** Undefined when the route is not in the listing. */
export function routeHooks(app: FastifyInstance, method: HTTPMethods, path: string): Map<string, string[]> | undefined {
  const lines = app.printRoutes({ method, includeHooks: true, commonPrefix: false }).split('\n');
  const segment = path.replace(/^\//, '');
  const start = lines.findIndex((line) => {
    const text = line.replace(/^[│├└─\s]*/, '');
    return text === `${segment} (${method})` || text === `${path} (${method})`;
  });
  if (start === -1) return undefined;
  const hooks = new Map<string, string[]>();
  for (const line of lines.slice(start + 1)) {
    const match = HOOK_LINE.exec(line);
    if (match === null) break;
    const names = (JSON.parse(match[2]!) as string[]).map((name) => name.replace(/\(\)$/, ''));
    hooks.set(match[1]!, names);
  }
  return hooks;
}
