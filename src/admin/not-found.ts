/**
 * A path under `/admin/` that no admin route serves: 404 in the admin API's error shape (405 when
 * another method serves it), signed in or not. As an admin route it is answered before any key
 * or session check; left to the gateway's 404 handler, the client-key check answered 401 first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { RouteMethods } from '../http/route-methods.js';

const CATCH_ALL = '/admin/*';
/** Not OPTIONS: CORS answers preflights on every path. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Call before the admin routes are added: it hears of each to tell 405 from 404. */
export function registerNotFound(app: FastifyInstance): void {
  const served = new RouteMethods();
  app.addHook('onRoute', (route) => {
    if (route.url !== CATCH_ALL) served.add(route.method, route.url);
  });
  const refuse = async (request: FastifyRequest): Promise<never> => {
    const path = request.url.split('?', 1)[0]!;
    throw served.otherMethodServes(path, request.method)
      ? new GatewayError('METHOD_NOT_ALLOWED', '405 method not allowed')
      : new GatewayError('ROUTE_NOT_FOUND', '404 page not found');
  };
  // Refused on request: a body sent to a path that does not exist is never read.
  app.route({ method: METHODS, url: CATCH_ALL, onRequest: refuse, handler: refuse });
}
