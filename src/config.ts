/**
 * The one place configuration is read. Precedence: command-line flag > environment >
 * .env file > default. env-schema (the engine of @fastify/env) merges and type-checks the
 * sources; zod then refines them. It runs before the Fastify instance exists because the
 * logger level, body limit and server timeouts are constructor options.
 */
import { readFileSync } from 'node:fs';
import { envSchema } from 'env-schema';
import { z } from 'zod';
import { ConfigSchema, type Config } from '#schemas/config.js';
import { GatewayError } from './errors.js';

export interface LoadConfigOptions {
  /** Values from command-line flags (highest precedence); undefined entries are ignored. */
  overrides?: Partial<Record<keyof Config, unknown>>;
  /** The .env file to read; `false` reads none. Default `.env` in the working directory. */
  envFile?: string | false;
  /** Read process.env (tests turn it off for hermetic instances). Default true. */
  readProcessEnv?: boolean;
}

const jsonSchema = (() => {
  const schema = z.toJSONSchema(ConfigSchema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  delete schema.$schema;
  // Defaults are applied by zod; AJV would otherwise stringify nothing but coerce types.
  return schema;
})();

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const overrides = Object.fromEntries(
    Object.entries(options.overrides ?? {}).filter(([, value]) => value !== undefined),
  );
  let merged: Record<string, unknown>;
  try {
    merged = envSchema({
      schema: structuredClone(jsonSchema),
      data: [overrides],
      env: options.readProcessEnv ?? true,
      dotenv: options.envFile === false ? false : { path: options.envFile ?? '.env' },
    }) as Record<string, unknown>;
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `invalid configuration: ${(error as Error).message}`, { cause: error });
  }
  // Empty strings from `.env` templates mean "not set".
  for (const [key, value] of Object.entries(merged)) if (value === '') delete merged[key];
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new GatewayError('CONFIG_INVALID', `invalid configuration: ${problems}`);
  }
  return Object.freeze(withKeyFromFile(parsed.data));
}

/**
 * The OpenRouter key from OPENROUTER_API_KEY_FILE (`--api-key-file`), read once: a key on the
 * command line is visible to every local user in the process list. Surrounding whitespace (the
 * file's trailing newline) is trimmed; the messages name the file, never its content.
 */
function withKeyFromFile(config: Config): Config {
  const path = config.OPENROUTER_API_KEY_FILE;
  if (path === undefined) return config;
  if (config.OPENROUTER_API_KEY !== undefined) {
    throw new GatewayError('CONFIG_INVALID', 'the OpenRouter key is given twice: use either --api-key-file (OPENROUTER_API_KEY_FILE) or --api-key (OPENROUTER_API_KEY), not both');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `cannot read the OpenRouter key file ${path}: ${unreadableReason(error)}`);
  }
  const key = text.trim();
  if (key === '') throw new GatewayError('CONFIG_INVALID', `the OpenRouter key file ${path} is empty`);
  if (/\s/.test(key)) {
    throw new GatewayError('CONFIG_INVALID', `the OpenRouter key file ${path} holds more than one key (whitespace or several lines): put only the key in it`);
  }
  return { ...config, OPENROUTER_API_KEY: key };
}

function unreadableReason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return (error as Error).message;
  }
}
