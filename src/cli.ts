#!/usr/bin/env node
/**
 * ollama-bridge's command line: `ollama-bridge [serve] [options]`.
 * Flags map onto the configuration keys; precedence is flag > environment > .env.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Config } from '#schemas/config.js';
import { LOG_LEVELS } from '#schemas/config.js';
import { existsSync } from 'node:fs';
import { loadConfigWithSources, type LoadedConfig } from './config.js';
import { GatewayError, isGatewayError } from './errors.js';
import { closestName } from './core/closest-name.js';
import { DEFAULT_KEYS_FILE, KeysCommandError, createKeyCommand, listKeysWithLedger, revokeKeyCommand } from './auth/keys-command.js';
import { defaultBudgetFrom } from './auth/budgets.js';
import { usageDbPath } from './usage/ledger/usage-db-path.js';
import { UsageCommandError, usageCommand } from './usage/ledger/usage-command.js';
import { StartupError, startServer, stopOnSignals } from './server.js';
import cluster from 'node:cluster';
import { runPrimary } from './cluster/primary.js';
import { WORKER_DRAIN_MS, serveAsWorker, workerStart } from './cluster/worker.js';
import { workerCount } from './cluster/worker-count.js';
import { PACKAGE_VERSION } from './startup/package-version.js';

/** Each flag, the configuration key it sets, and its help text (README documents the same). */
export const FLAGS = {
  'api-key': { key: 'OPENROUTER_API_KEY', type: 'string', describe: 'OpenRouter API key (env OPENROUTER_API_KEY); a flag shows in the process list, so prefer the env variable or --api-key-file' },
  'api-key-file': { key: 'OPENROUTER_API_KEY_FILE', type: 'string', describe: 'file holding the OpenRouter API key, e.g. a Docker or Kubernetes secret (env OPENROUTER_API_KEY_FILE)' },
  'ollama-url': { key: 'OLLAMA_BASE_URL', type: 'string', describe: 'a real Ollama server to serve next to (or instead of) OpenRouter, e.g. http://127.0.0.1:11435 (env OLLAMA_BASE_URL)' },
  prefer: { key: 'PREFER_BACKEND', type: 'string', describe: 'which backend wins when both have a model of the same name: ollama or openrouter (env PREFER_BACKEND, default ollama)' },
  'models-filter': { key: 'MODELS_FILTER', type: 'string', describe: 'file listing the models to serve; edits apply while running (env MODELS_FILTER)' },
  'models-config': { key: 'MODELS_CONFIG', type: 'string', describe: 'JSON or YAML file of model aliases and per-model overrides; edits apply while running (env MODELS_CONFIG)' },
  host: { key: 'HOST', type: 'string', describe: 'address to listen on (env BRIDGE_HOST, or OLLAMA_HOST=host:port as Ollama reads it; default 127.0.0.1)' },
  port: { key: 'PORT', type: 'number', describe: 'port to listen on (env BRIDGE_PORT, or the port of OLLAMA_HOST; default 11434)' },
  'openrouter-url': { key: 'OPENROUTER_BASE_URL', type: 'string', describe: 'OpenRouter API base URL (env OPENROUTER_BASE_URL, default https://openrouter.ai/api/v1)' },
  'log-level': { key: 'LOG_LEVEL', type: 'string', describe: `log level: ${LOG_LEVELS.join(', ')} (env LOG_LEVEL, default info)` },
  'log-format': { key: 'LOG_FORMAT', type: 'string', describe: 'log line format: json, pretty, or auto = pretty on a terminal, json otherwise (env LOG_FORMAT, default auto)' },
  'ollama-version': { key: 'OLLAMA_VERSION', type: 'string', describe: 'Ollama version reported by /api/version (env OLLAMA_VERSION, default 0.32.11)' },
  'body-limit': { key: 'BODY_LIMIT_BYTES', type: 'number', describe: 'largest request body in bytes, at least 1024 (env BODY_LIMIT_BYTES, default 67108864)' },
  'blob-limit': { key: 'BLOB_LIMIT_BYTES', type: 'number', describe: 'largest blob upload to an upstream Ollama in bytes (env BLOB_LIMIT_BYTES, default 68719476736 = 64 GiB)' },
  'catalog-ttl': { key: 'CATALOG_TTL_SECONDS', type: 'number', describe: 'seconds between model catalog refreshes, at least 10 (env CATALOG_TTL_SECONDS, default 600)' },
  'connect-timeout': { key: 'UPSTREAM_CONNECT_TIMEOUT_MS', type: 'number', describe: 'upstream connect timeout in ms (env UPSTREAM_CONNECT_TIMEOUT_MS, default 10000)' },
  'headers-timeout': { key: 'UPSTREAM_HEADERS_TIMEOUT_MS', type: 'number', describe: 'upstream time to response headers in ms (env UPSTREAM_HEADERS_TIMEOUT_MS, default 300000)' },
  'idle-timeout': { key: 'UPSTREAM_BODY_TIMEOUT_MS', type: 'number', describe: 'longest upstream silence mid-answer in ms (keep-alive comments and progress lines reset it), 0 = none (env UPSTREAM_BODY_TIMEOUT_MS, default 60000)' },
  'receive-timeout': { key: 'REQUEST_RECEIVE_TIMEOUT_MS', type: 'number', describe: 'longest a client may take to send its request (headers and body) in ms, 0 = none; never limits the answer (env REQUEST_RECEIVE_TIMEOUT_MS, default 300000)' },
  'retry-max-wait': { key: 'RETRY_MAX_WAIT_MS', type: 'number', describe: "longest wait in ms before a retry of the same model (models config `retries`); an upstream Retry-After longer than this moves to the model's next fallback at once (env RETRY_MAX_WAIT_MS, default 5000)" },
  'retry-total': { key: 'RETRY_TOTAL_MS', type: 'number', describe: 'no retry or fallback starts later than this many ms after the first try began (env RETRY_TOTAL_MS, default 30000)' },
  'keys-file': { key: 'BRIDGE_KEYS_FILE', type: 'string', describe: 'file of hashed client keys made by `keys create` (or a plain keys.txt); edits apply while running (env BRIDGE_KEYS_FILE)' },
  'api-keys': { key: 'BRIDGE_API_KEYS', type: 'string', describe: 'comma-separated client keys (env BRIDGE_API_KEYS); a flag shows in the process list, so prefer the env variable or --keys-file' },
  'allow-unauthenticated': { key: 'ALLOW_UNAUTHENTICATED', type: 'boolean', describe: 'serve a non-loopback address without client keys (env ALLOW_UNAUTHENTICATED)' },
  'generate-key': { key: 'BRIDGE_GENERATE_KEY', type: 'boolean', describe: 'with no keys on a non-loopback address, generate a key for this run and print it once (env BRIDGE_GENERATE_KEY; set in the Docker image)' },
  'rate-limit-rpm': { key: 'RATE_LIMIT_RPM', type: 'number', describe: 'default requests per minute per key, or per client address when no keys are configured; listing and show are not counted; 0 = none (env RATE_LIMIT_RPM)' },
  'rate-limit-tpm': { key: 'RATE_LIMIT_TPM', type: 'number', describe: 'default tokens per minute per key, or per client address when no keys are configured; 0 = none (env RATE_LIMIT_TPM)' },
  'budget-usd': { key: 'BUDGET_USD', type: 'number', describe: "default USD a key may spend per budget period (a key's own budget wins), or the whole gateway's when no keys are configured; past it, 402; 0 = none (env BUDGET_USD)" },
  'budget-period': { key: 'BUDGET_PERIOD', type: 'string', describe: 'period of the default budget, calendar UTC: day, week (from Monday), month or total (env BUDGET_PERIOD, default month)' },
  'metrics-public': { key: 'METRICS_PUBLIC', type: 'boolean', describe: 'serve /metrics without a key even when keys are configured; otherwise it needs an admin key (env METRICS_PUBLIC)' },
  origins: { key: 'OLLAMA_ORIGINS', type: 'string', describe: 'extra allowed browser origins, comma-separated (env OLLAMA_ORIGINS)' },
  'trust-proxy': { key: 'TRUST_PROXY', type: 'string', describe: "behind a reverse proxy: whose X-Forwarded-For/-Proto/-Host to believe, true (every peer) or the proxies' addresses and CIDR ranges, comma-separated, e.g. 127.0.0.1 or loopback,10.0.0.0/8 (env TRUST_PROXY, default false: a client could forge them)" },
  'shutdown-grace': { key: 'SHUTDOWN_GRACE_MS', type: 'number', describe: 'ms open answers may take to finish on SIGINT/SIGTERM (env SHUTDOWN_GRACE_MS, default 10000)' },
  usage: { key: 'USAGE', type: 'boolean', describe: 'record every answered request in the usage database; --no-usage turns it off (env USAGE=false; default on)' },
  'usage-db': { key: 'USAGE_DB', type: 'string', describe: 'the usage database, a SQLite file (env USAGE_DB, default ~/.ollama-bridge/usage.db; /data/usage.db in the Docker image)' },
  'redis-url': { key: 'REDIS_URL', type: 'string', describe: 'a Redis shared by several gateways: rate limits, budget spend, key changes and /api/ps hold across all of them, e.g. redis://:secret@redis:6379 (env REDIS_URL; prefer the env variable: a flag shows in the process list)' },
  workers: { key: 'WORKERS', type: 'string', describe: 'processes serving the port (node:cluster): a number, or auto = one per core; SIGHUP restarts them one at a time (env WORKERS, default 1 = no cluster)' },
  'usage-retention-days': { key: 'USAGE_RETENTION_DAYS', type: 'number', describe: 'days of per-request detail kept in the usage database, at least 1; daily totals are kept for ever (env USAGE_RETENTION_DAYS, default 90)' },
  'database-url': { key: 'DATABASE_URL', type: 'string', describe: 'the usage ledger in PostgreSQL, shared by several gateways, e.g. postgres://bridge:secret@db:5432/bridge; replaces --usage-db (env DATABASE_URL; prefer the env variable: a flag shows in the process list)' },
} as const satisfies Record<string, { key: keyof Config; type: 'string' | 'number' | 'boolean'; describe: string }>;

type FlagName = keyof typeof FLAGS;

/** The environment variable of a setting (the listen address has namespaced ones). */
const ENVIRONMENT_NAMES: Partial<Record<keyof Config, string>> = { HOST: 'BRIDGE_HOST', PORT: 'BRIDGE_PORT' };

/** `--port (env BRIDGE_PORT)`: how errors name a setting, so the user knows what to change. */
function settingName(key: string): string {
  const flag = Object.entries(FLAGS).find(([, candidate]) => candidate.key === key)?.[0];
  const environment = ENVIRONMENT_NAMES[key as keyof Config] ?? key;
  return flag === undefined ? environment : `--${flag} (env ${environment})`;
}

function configFrom(args: Record<string, unknown>): LoadedConfig {
  const overrides: Partial<Record<keyof Config, unknown>> = {};
  for (const [name, flag] of Object.entries(FLAGS) as Array<[FlagName, (typeof FLAGS)[FlagName]]>) {
    if (args[name] !== undefined) overrides[flag.key] = args[name];
  }
  return loadConfigWithSources({ overrides, envFile: typeof args.dotenv === 'string' ? args.dotenv : undefined, settingName });
}

/**
 * The keys file: the one named, else the default one, which `keys create` writes and `serve` reads when it exists.
 * Only --keys-file is read as a setting: `keys create --budget-usd` is the key's own budget, not serve's default.
 */
function keysFileFrom(args: Record<string, unknown>): string {
  return configFrom({ 'keys-file': args['keys-file'], dotenv: args.dotenv }).config.BRIDGE_KEYS_FILE ?? DEFAULT_KEYS_FILE;
}

/** serve: the same default keys file as `keys create`, so keys made without --keys-file are never ignored. */
function serveConfig(args: Record<string, unknown>): LoadedConfig {
  const loaded = configFrom(args);
  const keysFile = loaded.config.BRIDGE_KEYS_FILE;
  if (keysFile === undefined) {
    return existsSync(DEFAULT_KEYS_FILE) ? { ...loaded, config: Object.freeze({ ...loaded.config, BRIDGE_KEYS_FILE: DEFAULT_KEYS_FILE }) } : loaded;
  }
  if (!existsSync(keysFile)) {
    throw new GatewayError('CONFIG_INVALID', `the keys file ${keysFile} does not exist; create it with a first key: ollama-bridge keys create --name NAME --keys-file ${keysFile}`);
  }
  return loaded;
}

/** A keys command whose file cannot be read or used is a configuration problem (exit 2), like any other. */
async function keysCommand(run: () => string | Promise<string>): Promise<string> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof KeysCommandError || isGatewayError(error)) throw error;
    throw new KeysCommandError((error as Error).message);
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export async function main(argv: string[]): Promise<void> {
  const serveOptions = Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type, describe: flag.describe }]));
  const databaseUrlOption = { type: 'string', describe: 'read the usage ledger from PostgreSQL, as serve writes it with --database-url (env DATABASE_URL); wins over --usage-db' } as const;
  const keysFileOption = { type: 'string', describe: `the keys file (env BRIDGE_KEYS_FILE, default ./${DEFAULT_KEYS_FILE})` } as const;
  const parser = yargs(argv)
    .scriptName('ollama-bridge')
    .usage("$0 [serve] [options]\n\nAn Ollama-compatible gateway on port 11434 that serves OpenRouter's models.")
    .option('dotenv', { type: 'string', describe: 'read settings from this .env file (default ./.env, when it exists)' })
    .command(['serve', '$0'], 'run the gateway (the default command)', (command) => command.options(serveOptions), async (args) => {
      const { config, envFileRead } = serveConfig(args);
      const workers = workerCount(config.WORKERS);
      if (workers > 1 && cluster.isPrimary) {
        await runPrimary({ workers, config });
        return;
      }
      const server = await startServer(config, { envFileRead, ...workerStart() });
      stopOnSignals(server);
      serveAsWorker({ generatedKey: server.app.generatedKey, stop: () => server.stop({ drainMs: WORKER_DRAIN_MS }) });
    })
    .command('keys', 'manage client API keys (hashed in a keys file)', (keys) =>
      keys
        .command('create', 'create a key; it is printed once, on the last line', (command) =>
          command
            .option('name', { type: 'string', demandOption: true, describe: 'a name for the key (who or what uses it)' })
            .option('models', { type: 'string', describe: 'comma-separated model globs this key may use (default: all)' })
            .option('expires', { type: 'string', describe: 'expiry date, e.g. 2027-01-31' })
            .option('rpm', { type: 'number', describe: "this key's requests per minute (overrides --rate-limit-rpm)" })
            .option('tpm', { type: 'number', describe: "this key's tokens per minute (overrides --rate-limit-tpm)" })
            .option('budget-usd', { type: 'number', describe: "USD this key may spend per budget period (overrides serve's --budget-usd); past it, 402" })
            .option('budget-period', { type: 'string', describe: 'the period of --budget-usd, calendar UTC: day, week (from Monday), month or total (default month)' })
            .option('scopes', { type: 'string', describe: 'comma-separated extra rights: admin = model management (pull, push, create, copy, delete, blobs) on an upstream Ollama' })
            .option('admin', { type: 'boolean', describe: 'the same as --scopes admin' })
            .option('keys-file', keysFileOption), async (args) => {
          print(await keysCommand(() => createKeyCommand({
            keysFile: keysFileFrom(args),
            name: args.name,
            ...(args.models === undefined ? {} : { models: args.models.split(',') }),
            ...(args.expires === undefined ? {} : { expires: args.expires }),
            ...(args.rpm === undefined ? {} : { requestsPerMinute: args.rpm }),
            ...(args.tpm === undefined ? {} : { tokensPerMinute: args.tpm }),
            ...(args.budgetUsd === undefined ? {} : { budgetUsd: args.budgetUsd }),
            ...(args.budgetPeriod === undefined ? {} : { budgetPeriod: args.budgetPeriod }),
            scopes: [...(args.scopes === undefined ? [] : [args.scopes]), ...(args.admin === true ? ['admin'] : [])],
          })));
        })
        .command('list', "list keys (never shows a key), each with its budget and what it spent in the budget's period", (command) =>
          command.option('keys-file', keysFileOption).option('usage-db', { type: 'string', describe: 'the usage database to read spend from, as serve writes it (env USAGE_DB, default ~/.ollama-bridge/usage.db)' }).option('database-url', databaseUrlOption), async (args) => {
          print(await keysCommand(() => {
            const { config } = configFrom(args);
            const defaultBudget = defaultBudgetFrom(config);
            return listKeysWithLedger(keysFileFrom(args), { dbPath: usageDbPath(config.USAGE_DB), databaseUrl: config.DATABASE_URL }, defaultBudget === undefined ? {} : { defaultBudget });
          }));
        })
        .command('revoke <key>', 'revoke a key by id or name', (command) =>
          command.positional('key', { type: 'string', demandOption: true, describe: 'the key id or name' }).option('keys-file', keysFileOption), async (args) => {
          print(await keysCommand(() => revokeKeyCommand(keysFileFrom(args), args.key)));
        })
        .demandCommand(1, 'name a keys command: create, list or revoke'))
    .command('usage', 'report requests, tokens and cost from the usage database (its daily totals; works while the gateway runs)', (command) =>
      command
        .option('usage-db', { type: 'string', describe: 'the usage database, as serve writes it (env USAGE_DB, default ~/.ollama-bridge/usage.db)' })
        .option('database-url', databaseUrlOption)
        .option('since', { type: 'string', describe: 'first day, YYYY-MM-DD (UTC; default the 1st of this month)' })
        .option('until', { type: 'string', describe: 'last day, YYYY-MM-DD (UTC; default today)' })
        .option('by', { type: 'string', array: true, describe: 'group by key, model and/or day: repeat it or separate with commas, in the order wanted (default key,model)' })
        .option('key', { type: 'string', describe: "only this key's requests (its name at the time of the request)" })
        .option('json', { type: 'boolean', describe: 'print one JSON object: since, until, rows, total' })
        .option('csv', { type: 'boolean', describe: 'print the rows as CSV' })
        .conflicts('json', 'csv'), async (args) => {
      const { config } = configFrom(args);
      print(await usageCommand({
        dbPath: usageDbPath(config.USAGE_DB),
        databaseUrl: config.DATABASE_URL,
        ...(args.since === undefined ? {} : { since: args.since }),
        ...(args.until === undefined ? {} : { until: args.until }),
        ...(args.by === undefined ? {} : { by: args.by.map(String) }),
        ...(args.key === undefined ? {} : { keyName: args.key }),
        format: args.json === true ? 'json' : args.csv === true ? 'csv' : 'table',
      }));
    })
    .example('OPENROUTER_API_KEY=sk-or-... $0 --models-filter models-filter.txt', 'serve the models listed in models-filter.txt')
    .example('$0 keys create --name laptop --models "openai/*"', 'create a client key for OpenAI models only')
    .strict()
    .help()
    .alias('help', 'h')
    .version(PACKAGE_VERSION)
    .alias('version', 'v')
    .fail((message, error) => {
      throw error ?? new UsageError(withSuggestion(message));
    })
    .wrap(Math.min(110, process.stdout.columns || 110));
  await parser.parseAsync();
}

class UsageError extends Error {}

/** yargs' "Unknown argument: prot" with "did you mean --port?". */
function withSuggestion(message: string): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown === null) return message;
  const known = [...Object.keys(FLAGS), 'dotenv', 'help', 'version', 'name', 'models', 'expires', 'rpm', 'tpm', 'scopes', 'admin', 'since', 'until', 'by', 'key', 'json', 'csv'];
  const hints = unknown[1]!.split(', ').map((name) => {
    const suggestion = closestName(name.replace(/^-+/, ''), known);
    return suggestion === undefined ? undefined : `--${name.replace(/^-+/, '')}: did you mean --${suggestion}?`;
  }).filter((hint) => hint !== undefined);
  return [message, ...hints, 'see ollama-bridge --help'].join('\n');
}

main(hideBin(process.argv)).catch((error: unknown) => {
  if (isGatewayError(error) && error.code === 'CONFIG_INVALID') {
    process.stderr.write(`ollama-bridge: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof UsageError || error instanceof KeysCommandError || error instanceof UsageCommandError) {
    process.stderr.write(`ollama-bridge: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof StartupError) {
    process.stderr.write(`ollama-bridge: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`ollama-bridge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
