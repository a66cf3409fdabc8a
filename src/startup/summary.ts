/**
 * The start-up summary: a few lines a person reads once, printed on stdout before the logs.
 * Where the gateway listens, what each backend answered, the filter and keys in use (counts
 * and paths, never a key unless it was generated for this run), and what to paste into a
 * client. Pure: the caller gathers the facts.
 */
export interface BackendReport {
  /** "OpenRouter", "Ollama". */
  label: string;
  url: string;
  /** Models it serves after the filter; undefined when it has not answered. */
  models: number | undefined;
  /** Why it has not answered, when it has not. */
  problem?: string;
}

export interface SummaryFacts {
  version: string;
  ollamaApiVersion: string;
  /** The URL bound, e.g. http://127.0.0.1:11434 or http://0.0.0.0:11434. */
  boundUrl: string;
  /** URLs a client can use (for a wildcard bind, the machine's addresses). */
  clientUrls: string[];
  backends: BackendReport[];
  servedModels: number | undefined;
  filter: { path: string; created: boolean } | undefined;
  /** The .env file settings were read from. */
  envFileRead: string | undefined;
  keys: {
    count: number;
    file: string | undefined;
    /** A key generated for this run (printed once, here). */
    generated: string | undefined;
    /** Keys with the admin scope (they sign in to the admin page). */
    admin: number;
  };
  /** Open on a non-loopback address (--allow-unauthenticated). */
  openOnNetwork: boolean;
  /** --generate-key was asked for, but no key was needed (loopback, or keys configured). */
  generateKeyIgnored: string | undefined;
  /** The usage database; undefined with --no-usage. */
  usageDb: string | undefined;
  /** --trust-proxy: whose X-Forwarded-* are believed (true: every peer's); false when off. */
  trustProxy: boolean | readonly string[];
}

export function startupSummary(facts: SummaryFacts): string {
  const lines: string[] = [`ollama-bridge ${facts.version} (Ollama API ${facts.ollamaApiVersion})`];
  const row = (label: string, text: string): void => {
    lines.push(`  ${label.padEnd(10)}${text}`);
  };
  row('listening', facts.boundUrl);
  if (facts.envFileRead !== undefined) row('settings', `also read from ${facts.envFileRead}`);
  for (const backend of facts.backends) {
    const state = backend.models === undefined ? `not answering yet (${backend.problem ?? 'no answer yet'}); retrying in the background` : `${backend.models} models`;
    row('backend', `${backend.label} ${backend.url}: ${state}`);
  }
  row('serving', facts.servedModels === undefined ? 'no models yet' : `${facts.servedModels} models`);
  if (facts.filter === undefined) row('filter', 'none: every model is served (--models-filter FILE to choose)');
  else if (facts.filter.created) row('filter', `${facts.filter.path} did not exist: created it with a guide; every model is served until you edit it (edits apply while the gateway runs)`);
  else row('filter', `${facts.filter.path} (edits apply while the gateway runs)`);

  if (facts.keys.count === 0) {
    row('keys', facts.openOnNetwork
      ? 'none. WARNING: open to anyone who can reach this address (--allow-unauthenticated)'
      : 'none: open on loopback only (create keys with `ollama-bridge keys create`)');
  } else {
    const where = facts.keys.file === undefined ? '' : ` (${facts.keys.file})`;
    row('keys', `${facts.keys.count} client key${facts.keys.count === 1 ? '' : 's'}${where}${facts.keys.generated === undefined ? '' : ', one generated for this run'}`);
  }
  if (facts.generateKeyIgnored !== undefined) row('', `--generate-key ignored: ${facts.generateKeyIgnored}`);
  const adminUrl = `${facts.clientUrls[0] ?? facts.boundUrl}/admin`;
  row('admin', facts.keys.admin > 0
    ? `${adminUrl} (sign in with an admin key)`
    : `${adminUrl} needs a key with the admin scope: ollama-bridge keys create --name NAME --admin --keys-file FILE`);
  if (facts.trustProxy !== false) {
    row('proxy', `X-Forwarded-For/-Proto/-Host believed from ${facts.trustProxy === true ? 'every peer (--trust-proxy true): only a proxy may reach this port' : facts.trustProxy.join(', ')}`);
  }
  row('usage', facts.usageDb === undefined ? 'not recorded (--no-usage)' : `recorded in ${facts.usageDb} (report: ollama-bridge usage)`);

  lines.push('');
  const first = facts.clientUrls[0] ?? facts.boundUrl;
  if (facts.keys.generated !== undefined) {
    lines.push('  A key was generated for this run (it is not stored; pass your own with --keys-file or --api-keys):');
    lines.push(`    ${facts.keys.generated}`);
    lines.push('  Send it as "Authorization: Bearer <key>", or give clients that take only a URL:');
    for (const url of facts.clientUrls) lines.push(`    ${url}/key/${facts.keys.generated}`);
  } else if (facts.keys.count > 0) {
    lines.push('  Point clients at (send a key as "Authorization: Bearer <key>", or put it in the URL):');
    for (const url of facts.clientUrls) lines.push(`    ${url}    or    ${url}/key/<your key>`);
  } else {
    lines.push('  Point clients at it:');
    lines.push(`    OLLAMA_HOST=${first}`);
    if (facts.clientUrls.length > 1) for (const url of facts.clientUrls.slice(1)) lines.push(`    or ${url}`);
  }
  lines.push(`  OpenAI-compatible clients: base URL ${first}/v1`);
  return `${lines.join('\n')}\n\n`;
}
