/**
 * Browser-facing guards, as Ollama has them:
 * - CORS: an allow list like OLLAMA_ORIGINS, plus localhost/127.0.0.1/0.0.0.0 on any port and
 *   the app://, file://, tauri://, vscode-webview://, vscode-file:// and browser-extension
 *   schemes by default. A request from any other Origin is refused (403).
 * - DNS rebinding: while bound to loopback, a Host header that is not a local name is refused.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { compileGlob } from '../core/glob.js';

const DEFAULT_ORIGINS = [
  'http://localhost', 'https://localhost', 'http://localhost:*', 'https://localhost:*',
  'http://127.0.0.1', 'https://127.0.0.1', 'http://127.0.0.1:*', 'https://127.0.0.1:*',
  'http://0.0.0.0', 'https://0.0.0.0', 'http://0.0.0.0:*', 'https://0.0.0.0:*',
  'http://[::1]', 'http://[::1]:*',
  'app://*', 'file://*', 'tauri://*', 'vscode-webview://*', 'vscode-file://*',
  'chrome-extension://*', 'moz-extension://*', 'safari-web-extension://*',
];

export type OriginCheck = (origin: string) => boolean;

/**
 * `extra`: the user's allow list (comma-separated, `*` wildcards, `*` alone = any origin). As in
 * Ollama, a `*` matches any characters, `/` and `.` included; case is ignored.
 */
export function originChecker(extra: readonly string[]): OriginCheck {
  const patterns = [...DEFAULT_ORIGINS, ...extra.map((origin) => origin.trim()).filter((origin) => origin !== '')];
  if (patterns.includes('*')) return () => true;
  const matchers = patterns.map((pattern) => compileGlob(pattern, { starCrossesSlash: true }));
  return (origin) => matchers.some((matcher) => matcher(origin));
}

/**
 * Whether an Origin header names the gateway itself, as the browser addressed it: the request's
 * protocol and host (Fastify's request.protocol and request.host, which follow X-Forwarded-Proto
 * and -Host from a trusted proxy). A browser sends one with same-origin calls that change
 * something, without the scheme's default port, which a proxy may have put in the host.
 */
export function isOwnOrigin(origin: string, protocol: string, host: string | undefined): boolean {
  if (host === undefined || host === '') return false;
  const own = `${protocol}://${host}`.toLowerCase();
  const given = origin.toLowerCase();
  return given === own || given === withoutDefaultPort(own);
}

function withoutDefaultPort(origin: string): string {
  if (origin.startsWith('https://') && origin.endsWith(':443')) return origin.slice(0, -':443'.length);
  if (origin.startsWith('http://') && origin.endsWith(':80')) return origin.slice(0, -':80'.length);
  return origin;
}

export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

const machineName = hostname().toLowerCase();

/** Recent Host headers and the verdict on each: a client sends the same one every time. */
const hostVerdicts = new Map<string, boolean>();
const HOST_VERDICTS_KEPT = 64;

/** Ollama's allowed Host names on a loopback bind: local names and addresses only. */
export function isAllowedHost(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '') return true; // HTTP/1.0 clients
  let verdict = hostVerdicts.get(hostHeader);
  if (verdict === undefined) {
    verdict = judgeHost(hostHeader);
    if (hostVerdicts.size >= HOST_VERDICTS_KEPT) hostVerdicts.clear();
    hostVerdicts.set(hostHeader, verdict);
  }
  return verdict;
}

function judgeHost(hostHeader: string): boolean {
  let host = hostHeader.toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.lastIndexOf(':') > -1 && isIP(host) !== 6) host = host.slice(0, host.lastIndexOf(':'));
  if (host === 'localhost' || host === machineName) return true;
  if (/\.(localhost|local|internal)$/.test(host)) return true;
  const version = isIP(host);
  if (version === 4) return /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|0\.0\.0\.0$)/.test(host);
  if (version === 6) return host === '::1' || host.startsWith('fc') || host.startsWith('fd') || host.startsWith('fe80');
  return false;
}
