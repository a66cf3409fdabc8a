/**
 * The one place configuration is read. Precedence: command-line flag > environment >
 * .env file > default. env-schema (the engine of @fastify/env) merges and type-checks the
 * sources; zod then refines them. It runs before the Fastify instance exists because the
 * logger level, body limit and server timeouts are constructor options.
 */
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
  return Object.freeze(parsed.data);
}
