/**
 * The admin page's files (built by Vite into dist/admin-page): `/admin/` is its index.html
 * (never cached), `/admin/assets/*` its hashed files (cached for a year). `/admin` redirects to
 * `/admin/`, where the page's relative asset URLs resolve. A gateway built without the page
 * answers 503 saying how to build it.
 */
import { existsSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { GatewayError } from '../errors.js';

/** Sent with every /admin answer: no inline script or style, no framing, no referrer, no sniffing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

const YEAR_MS = 365 * 24 * 60 * 60 * 1000;

export function registerPage(app: FastifyInstance, pageDir: string): void {
  const sendIndex = async (reply: FastifyReply): Promise<FastifyReply> => {
    if (!existsSync(join(pageDir, 'index.html'))) {
      return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store')
        .send(`the admin page is not built (no ${join(pageDir, 'index.html')}): run \`npm run build\`\n`);
    }
    return reply.header('cache-control', 'no-cache').sendFile('index.html', pageDir, { cacheControl: false });
  };
  app.get('/admin', async (request, reply) => {
    const query = request.url.indexOf('?');
    return reply.redirect(`/admin/${query === -1 ? '' : request.url.slice(query)}`, 302);
  });
  app.get('/admin/', async (_request, reply) => sendIndex(reply));
  app.get('/admin/index.html', async (_request, reply) => sendIndex(reply));
  const assets = resolve(pageDir, 'assets');
  app.get<{ Params: { '*': string } }>('/admin/assets/*', async (request, reply) => {
    const file = resolve(assets, request.params['*']);
    if (!file.startsWith(`${assets}${sep}`) || !existsSync(file)) throw new GatewayError('ROUTE_NOT_FOUND', '404 page not found');
    return reply.sendFile(request.params['*'], assets, { maxAge: YEAR_MS, immutable: true });
  });
}
