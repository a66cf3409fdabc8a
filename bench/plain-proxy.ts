/**
 * The floor: a Node proxy that does nothing (child process). Every request is forwarded to
 * `--upstream` with undici `request()`, and the response bytes are piped back unchanged with
 * `pipeline(body, res)`, which honours backpressure; a client that goes away aborts the
 * upstream request.
 *
 *   node --import tsx bench/plain-proxy.ts --upstream http://127.0.0.1:PORT
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';
import { listenAndAnnounce, serverArgs } from './server-util.js';

const args = serverArgs({ upstream: { type: 'string' } });
if (!args.upstream) throw new Error('--upstream is required');
const upstream = args.upstream.replace(/\/+$/, '');
const agent = new Agent({ connections: 2048, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) result[name] = value;
  }
  return result;
}

const server = createServer((req, res) => {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  request(`${upstream}${req.url ?? '/'}`, {
    method: (req.method ?? 'GET') as 'GET',
    headers: endToEnd(req.headers),
    body: hasBody ? req : undefined,
    dispatcher: agent,
    signal: controller.signal,
  })
    .then(async (response) => {
      res.writeHead(response.statusCode, endToEnd(response.headers));
      await pipeline(response.body, res);
    })
    .catch(() => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
      } else {
        res.destroy();
      }
    });
});
listenAndAnnounce(server);
