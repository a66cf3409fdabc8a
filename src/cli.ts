#!/usr/bin/env node
/**
 * ollama-bridge's command line: `ollama-bridge [serve] [options]`.
 * Flags map onto the configuration keys; precedence is flag > environment > .env.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Config } from '#schemas/config.js';
import { LOG_LEVELS } from '#schemas/config.js';
import { loadConfig } from './config.js';
import { isGatewayError } from './errors.js';
import { StartupError, startServer, stopOnSignals } from './server.js';

/** Each flag, the configuration key it sets, and its help text (README documents the same). */
export const FLAGS = {
  'api-key': { key: 'OPENROUTER_API_KEY', type: 'string', describe: 'OpenRouter API key (env OPENROUTER_API_KEY)' },
  'models-filter': { key: 'MODELS_FILTER', type: 'string', describe: 'file listing the models to serve; edits apply while running (env MODELS_FILTER)' },
  'models-config': { key: 'MODELS_CONFIG', type: 'string', describe: 'JSON or YAML file of model aliases and per-model overrides; edits apply while running (env MODELS_CONFIG)' },
  host: { key: 'HOST', type: 'string', describe: 'address to listen on (env HOST, default 127.0.0.1)' },
  port: { key: 'PORT', type: 'number', describe: 'port to listen on (env PORT, default 11434)' },
  'openrouter-url': { key: 'OPENROUTER_BASE_URL', type: 'string', describe: 'OpenRouter API base URL (env OPENROUTER_BASE_URL, default https://openrouter.ai/api/v1)' },
  'log-level': { key: 'LOG_LEVEL', type: 'string', describe: `log level: ${LOG_LEVELS.join(', ')} (env LOG_LEVEL, default info)` },
  'ollama-version': { key: 'OLLAMA_VERSION', type: 'string', describe: 'Ollama version reported by /api/version (env OLLAMA_VERSION, default 0.12.10)' },
  'body-limit': { key: 'BODY_LIMIT_BYTES', type: 'number', describe: 'largest request body in bytes (env BODY_LIMIT_BYTES, default 67108864)' },
  'catalog-ttl': { key: 'CATALOG_TTL_SECONDS', type: 'number', describe: 'seconds between model catalog refreshes (env CATALOG_TTL_SECONDS, default 600)' },
  'connect-timeout': { key: 'UPSTREAM_CONNECT_TIMEOUT_MS', type: 'number', describe: 'upstream connect timeout in ms (env UPSTREAM_CONNECT_TIMEOUT_MS, default 10000)' },
  'headers-timeout': { key: 'UPSTREAM_HEADERS_TIMEOUT_MS', type: 'number', describe: 'upstream time to response headers in ms (env UPSTREAM_HEADERS_TIMEOUT_MS, default 300000)' },
  'idle-timeout': { key: 'UPSTREAM_BODY_TIMEOUT_MS', type: 'number', describe: 'longest upstream silence mid-answer in ms, 0 = none (env UPSTREAM_BODY_TIMEOUT_MS, default 300000)' },
  'shutdown-grace': { key: 'SHUTDOWN_GRACE_MS', type: 'number', describe: 'ms open answers may take to finish on SIGINT/SIGTERM (env SHUTDOWN_GRACE_MS, default 10000)' },
} as const satisfies Record<string, { key: keyof Config; type: 'string' | 'number'; describe: string }>;

type FlagName = keyof typeof FLAGS;

export async function main(argv: string[]): Promise<void> {
  const parser = yargs(argv)
    .scriptName('ollama-bridge')
    .usage('$0 [serve] [options]\n\nAn Ollama-compatible gateway on port 11434 that serves OpenRouter\'s models.')
    .command(['serve', '$0'], 'run the gateway (the default command)')
    .options(Object.fromEntries(Object.entries(FLAGS).map(([name, flag]) => [name, { type: flag.type, describe: flag.describe }])))
    .option('env-file', { type: 'string', describe: 'read settings from this .env file (default ./.env)' })
    .example('$0 --api-key sk-or-... --models-filter models-filter.txt', 'serve the models listed in models-filter.txt')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110));
  const args = (await parser.parseAsync()) as Record<string, unknown>;

  const overrides: Partial<Record<keyof Config, unknown>> = {};
  for (const [name, flag] of Object.entries(FLAGS) as Array<[FlagName, (typeof FLAGS)[FlagName]]>) {
    if (args[name] !== undefined) overrides[flag.key] = args[name];
  }
  const config = loadConfig({ overrides, envFile: typeof args['env-file'] === 'string' ? args['env-file'] : undefined });
  const server = await startServer(config);
  stopOnSignals(server);
}

main(hideBin(process.argv)).catch((error: unknown) => {
  if (isGatewayError(error) && error.code === 'CONFIG_INVALID') {
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
