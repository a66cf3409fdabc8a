/**
 * Shared plumbing of the bench's child servers: listen on 127.0.0.1 port 0 (with a backlog
 * that a burst of 1000 connections does not overflow), tell the parent
 * the port on stdout (`LISTENING <port>`), and stop by themselves when the parent goes away
 * (stdin closes) or after a maximum lifetime, so nothing outlives a bench run.
 */
import type { Server } from 'node:http';
import { parseArgs, type ParseArgsConfig } from 'node:util';

const MAX_LIFETIME_MS = 20 * 60 * 1000;

export function listenAndAnnounce(server: Server): void {
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4_096 }, () => {
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    process.stdout.write(`LISTENING ${port}\n`);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  setTimeout(() => process.exit(0), MAX_LIFETIME_MS).unref();
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

export function serverArgs<Options extends NonNullable<ParseArgsConfig['options']>>(options: Options) {
  return parseArgs({ options, strict: true, allowPositionals: false }).values;
}
