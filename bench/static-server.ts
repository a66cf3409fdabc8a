/**
 * The reference for GET /api/tags: a trivial node:http server answering every GET with one
 * cached body (read once from `--file`), with content-type and content-length (child process).
 *
 *   node --import tsx bench/static-server.ts --file /tmp/tags.json
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { listenAndAnnounce, serverArgs } from './server-util.js';

const args = serverArgs({ file: { type: 'string' } });
if (!args.file) throw new Error('--file is required');
const body = readFileSync(args.file);
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };

const server = createServer((req, res) => {
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
});
listenAndAnnounce(server);
