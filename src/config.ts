/**
 * The one place configuration is read. Precedence: command-line flag > environment >
 * .env file > default; an empty value (a `.env` template's `KEY=`) means "not set". The
 * merged sources are checked once, against schemas/config.ts (settings-check.ts). It runs
 * before the Fastify instance exists because the logger level, body limit and server
 * timeouts are constructor options: hence no @fastify/env, which reads settings in a plugin.
 *
 * The listen address comes from namespaced variables only (BRIDGE_HOST, BRIDGE_PORT) or from
 * Ollama's own OLLAMA_HOST (`host`, `host:port`, `http://host:port`): the generic HOST and PORT
 * that shells, CI images and other projects' .env files set are not read.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigSchema, type Config } from '#schemas/config.js';
import { GatewayError } from './errors.js';
import { checkSettings } from './settings-check.js';

export interface LoadConfigOptions {
  /** Values from command-line flags (highest precedence); undefined entries are ignored. */
  overrides?: Partial<Record<keyof Config, unknown>>;
  /**
   * The .env file to read; `false` reads none. Default `.env` in the working directory, read
   * when it exists; a file named here must exist.
   */
  envFile?: string | false;
  /** Read process.env (tests turn it off for hermetic instances). Default true. */
  readProcessEnv?: boolean;
  /** How to name a setting in error messages (the CLI names its flag); default the key. */
  settingName?: (key: string) => string;
}

export interface LoadedConfig {
  config: Config;
  /** The .env file that was read (absolute), if any. */
  envFileRead: string | undefined;
}


export function loadConfig(options: LoadConfigOptions = {}): Config {
  return loadConfigWithSources(options).config;
}

export function loadConfigWithSources(options: LoadConfigOptions = {}): LoadedConfig {
  const nameOf = options.settingName ?? ((key: string) => key);
  const overrides = Object.fromEntries(
    Object.entries(options.overrides ?? {}).filter(([, value]) => value !== undefined),
  );
  const dotenv = readDotenv(options.envFile);
  const merged: Record<string, unknown> = {
    ...settingsFromEnvironment(dotenv.values),
    ...settingsFromEnvironment(options.readProcessEnv === false ? {} : process.env),
    ...overrides,
  };
  for (const [key, value] of Object.entries(merged)) if (value === '' || value === null) delete merged[key];
  const parsed = checkSettings(ConfigSchema, merged);
  if (!parsed.success) {
    const problems = parsed.problems.map((problem) => `${nameOf(problem.key)}: ${problem.message}`).join('; ');
    throw new GatewayError('CONFIG_INVALID', `invalid configuration: ${problems}`);
  }
  return { config: Object.freeze(withKeyFromFile(parsed.data)), envFileRead: dotenv.path };
}

function readDotenv(envFile: string | false | undefined): { values: Record<string, string>; path: string | undefined } {
  if (envFile === false) return { values: {}, path: undefined };
  const path = resolve(envFile ?? '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    // The default ./.env is optional; a file the user named is not.
    if (envFile === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return { values: {}, path: undefined };
    throw new GatewayError('CONFIG_INVALID', `cannot read the settings file ${path}: ${unreadableReason(error)}`);
  }
  return { values: parseEnv(text) as Record<string, string>, path };
}

/**
 * The settings an environment (or a .env file) gives: every variable except the generic HOST
 * and PORT; the listen address from OLLAMA_HOST, then from BRIDGE_HOST / BRIDGE_PORT.
 */
function settingsFromEnvironment(environment: Record<string, string | undefined>): Record<string, string | undefined> {
  const { HOST: _host, PORT: _port, OLLAMA_HOST: ollamaHost, BRIDGE_HOST: host, BRIDGE_PORT: port, ...rest } = environment;
  const settings: Record<string, string | undefined> = rest;
  if (ollamaHost !== undefined && ollamaHost !== '') Object.assign(settings, parseOllamaHost(ollamaHost));
  if (host !== undefined && host !== '') settings.HOST = host;
  if (port !== undefined && port !== '') settings.PORT = port;
  return settings;
}

/** OLLAMA_HOST as Ollama reads it: an optional scheme, a host (default 127.0.0.1), an optional port (default 11434). */
export function parseOllamaHost(value: string): { HOST: string; PORT: string } {
  let rest = value.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  rest = rest.replace(/\/.*$/, '');
  let host = rest;
  let port = '11434';
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(rest);
  if (bracketed !== null) {
    host = bracketed[1]!;
    if (bracketed[2]) port = bracketed[2];
  } else if (rest.indexOf(':') === rest.lastIndexOf(':') && rest.includes(':')) {
    const colon = rest.indexOf(':');
    host = rest.slice(0, colon);
    if (colon < rest.length - 1) port = rest.slice(colon + 1);
  }
  return { HOST: host === '' ? '127.0.0.1' : host, PORT: port };
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
