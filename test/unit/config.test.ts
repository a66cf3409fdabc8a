import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigWithSources } from '../../src/config.js';

const directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-config-'));
const envFile = join(directory, '.env');
const saved = { ...process.env };
afterEach(() => {
  for (const key of ['PORT', 'HOST', 'BRIDGE_PORT', 'BRIDGE_HOST', 'OLLAMA_HOST', 'LOG_LEVEL', 'OPENROUTER_API_KEY', 'ALLOW_UNAUTHENTICATED']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('configuration', () => {
  it('has safe defaults: loopback, port 11434, OpenRouter, no filter', () => {
    const config = loadConfig({ envFile: false, readProcessEnv: false });
    expect(config).toMatchObject({ HOST: '127.0.0.1', PORT: 11434, OPENROUTER_BASE_URL: 'https://openrouter.ai/api/v1', LOG_LEVEL: 'info', ALLOW_UNAUTHENTICATED: false, UPSTREAM_BODY_TIMEOUT_MS: 60_000 });
    expect(config.MODELS_FILTER).toBeUndefined();
  });

  it('takes a flag over the environment, and the environment over .env', () => {
    writeFileSync(envFile, 'BRIDGE_PORT=1111\nBRIDGE_HOST=10.0.0.1\nLOG_LEVEL=debug\nOPENROUTER_API_KEY=from-dotenv\n');
    process.env.BRIDGE_PORT = '2222';
    process.env.BRIDGE_HOST = '127.0.0.2';
    const config = loadConfig({ envFile, overrides: { PORT: 3333 } });
    expect(config.PORT).toBe(3333);
    expect(config.HOST).toBe('127.0.0.2');
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.OPENROUTER_API_KEY).toBe('from-dotenv');
  });

  it('reads booleans and numbers from environment strings', () => {
    process.env.ALLOW_UNAUTHENTICATED = 'true';
    process.env.BRIDGE_PORT = '8080';
    const config = loadConfig({ envFile: false });
    expect(config.ALLOW_UNAUTHENTICATED).toBe(true);
    expect(config.PORT).toBe(8080);
  });

  it('treats an empty .env value as unset', () => {
    writeFileSync(envFile, 'MODELS_FILTER=\nOPENROUTER_API_KEY=\n');
    const config = loadConfig({ envFile, readProcessEnv: false });
    expect(config.MODELS_FILTER).toBeUndefined();
    expect(config.OPENROUTER_API_KEY).toBeUndefined();
  });

  it('refuses a bad value with a clear message', () => {
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, overrides: { PORT: 70000 } })).toThrow(/invalid configuration: .*PORT/);
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, overrides: { OPENROUTER_BASE_URL: 'not a url' } })).toThrow(/OPENROUTER_BASE_URL: must be an absolute URL/);
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, overrides: { LOG_LEVEL: 'loud' } })).toThrow(/LOG_LEVEL/);
  });

  it('ignores the generic HOST and PORT (shells and CI images export HOST=$(hostname)), in the environment and in .env', () => {
    writeFileSync(envFile, 'PORT=1111\nHOST=10.0.0.1\n');
    process.env.HOST = 'build-runner-7';
    process.env.PORT = '3000';
    expect(loadConfig({ envFile })).toMatchObject({ HOST: '127.0.0.1', PORT: 11434 });
  });

  it.each([
    ['0.0.0.0', '0.0.0.0', 11434],
    ['0.0.0.0:8080', '0.0.0.0', 8080],
    ['http://127.0.0.2:9000', '127.0.0.2', 9000],
    ['https://example.internal', 'example.internal', 11434],
    [':12345', '127.0.0.1', 12345],
    ['[::1]:11500', '::1', 11500],
    ['::', '::', 11434],
  ])('reads OLLAMA_HOST=%s as Ollama does', (value, host, port) => {
    process.env.OLLAMA_HOST = value;
    expect(loadConfig({ envFile: false })).toMatchObject({ HOST: host, PORT: port });
  });

  it('BRIDGE_HOST and BRIDGE_PORT win over OLLAMA_HOST, and a flag over both', () => {
    process.env.OLLAMA_HOST = '0.0.0.0:9999';
    process.env.BRIDGE_PORT = '7777';
    expect(loadConfig({ envFile: false })).toMatchObject({ HOST: '0.0.0.0', PORT: 7777 });
    expect(loadConfig({ envFile: false, overrides: { HOST: '127.0.0.1' } })).toMatchObject({ HOST: '127.0.0.1', PORT: 7777 });
  });

  it('names the setting the way the caller asks (the CLI names its flag), lists an enum\'s values and states a minimum', () => {
    const settingName = (key: string) => `--${key.toLowerCase()}`;
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, settingName, overrides: { PORT: 'abc' } })).toThrow(/--port: must be an integer/);
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, settingName, overrides: { LOG_LEVEL: 'loud' } })).toThrow(/--log_level: must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, settingName, overrides: { CATALOG_TTL_SECONDS: 5 } })).toThrow(/--catalog_ttl_seconds: must be >= 10/);
  });

  it('reads an empty value (a .env template\'s KEY=) as not set, for every kind of setting', () => {
    writeFileSync(envFile, 'ALLOW_UNAUTHENTICATED=\nCATALOG_TTL_SECONDS=\nLOG_LEVEL=\nOLLAMA_BASE_URL=\n');
    expect(loadConfig({ envFile, readProcessEnv: false })).toMatchObject({ ALLOW_UNAUTHENTICATED: false, CATALOG_TTL_SECONDS: 600, LOG_LEVEL: 'info' });
  });

  it('says every problem at once, each in the same words, refinements included', () => {
    const settingName = (key: string) => `--${key.toLowerCase()}`;
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, settingName, overrides: { PORT: 99999, ALLOW_UNAUTHENTICATED: 'maybe', OLLAMA_BASE_URL: 'nope', OLLAMA_VERSION: '1.2' } })).toThrow(
      'invalid configuration: --ollama_base_url: must be an absolute URL; --port: must be <= 65535; --ollama_version: must match pattern "^\\d+\\.\\d+\\.\\d+$"; --allow_unauthenticated: must be a boolean',
    );
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, settingName, overrides: { BODY_LIMIT_BYTES: '2048.5', BUDGET_USD: 'abc' } })).toThrow(
      'invalid configuration: --body_limit_bytes: must be an integer; --budget_usd: must be a number',
    );
  });

  it('a .env file that was named must exist; the default ./.env is optional; the file read is reported', () => {
    expect(() => loadConfig({ envFile: join(directory, 'nope.env'), readProcessEnv: false })).toThrow(/cannot read the settings file .*nope\.env: no such file/);
    writeFileSync(envFile, 'LOG_LEVEL=warn\n');
    expect(loadConfigWithSources({ envFile, readProcessEnv: false }).envFileRead).toBe(envFile);
  });
});

describe('usage settings', () => {
  it('on by default with 90 days of detail; USAGE=false turns it off; retention is at least a day', () => {
    const defaults = loadConfig({ envFile: false, readProcessEnv: false });
    expect([defaults.USAGE, defaults.USAGE_DB, defaults.USAGE_RETENTION_DAYS]).toEqual([true, undefined, 90]);
    expect(loadConfig({ envFile: false, readProcessEnv: false, overrides: { USAGE: 'false', USAGE_DB: '/tmp/u.db' } })).toMatchObject({ USAGE: false, USAGE_DB: '/tmp/u.db' });
    expect(() => loadConfig({ envFile: false, readProcessEnv: false, overrides: { USAGE_RETENTION_DAYS: 0 } })).toThrow(/USAGE_RETENTION_DAYS/);
  });

  it('.env.example loads, with usage on and the default database', () => {
    const config = loadConfig({ envFile: fileURLToPath(new URL('../../.env.example', import.meta.url)), readProcessEnv: false });
    expect([config.USAGE, config.USAGE_DB, config.USAGE_RETENTION_DAYS]).toEqual([true, undefined, 90]);
  });
});

describe('--trust-proxy (TRUST_PROXY)', () => {
  const trustProxy = (value: unknown) => loadConfig({ envFile: false, readProcessEnv: false, overrides: { TRUST_PROXY: value } }).TRUST_PROXY;

  it('off by default; true, false, or the proxies\' addresses, CIDR ranges and named ranges', () => {
    expect(trustProxy(undefined)).toBe(false);
    expect([trustProxy('false'), trustProxy('true'), trustProxy('TRUE'), trustProxy(true)]).toEqual([false, true, true, true]);
    expect(trustProxy(' 127.0.0.1, 10.0.0.0/8 ,Loopback,::1,fc00::/7 ')).toEqual(['127.0.0.1', '10.0.0.0/8', 'loopback', '::1', 'fc00::/7']);
    writeFileSync(envFile, 'TRUST_PROXY=uniquelocal,linklocal\n');
    expect(loadConfig({ envFile, readProcessEnv: false }).TRUST_PROXY).toEqual(['uniquelocal', 'linklocal']);
  });

  it('a hop count is refused with why; so is anything that is not an address or range, each named', () => {
    expect(() => trustProxy('1')).toThrow(/TRUST_PROXY: a hop count \(1\) is not taken: it cannot tell a proxy from a client that connects directly/);
    expect(() => trustProxy('10.0.0.1,proxy.local,10.0.0.0/33,10.0.0.0/0')).toThrow(
      /TRUST_PROXY: not an address or range: "proxy\.local", "10\.0\.0\.0\/33", "10\.0\.0\.0\/0"; give false, true \(every peer\) or the proxies' addresses/,
    );
    expect(() => trustProxy(' , ')).toThrow(/TRUST_PROXY: no address given/);
  });
});
