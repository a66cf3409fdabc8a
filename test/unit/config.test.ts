import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-config-'));
const envFile = join(directory, '.env');
const saved = { ...process.env };
afterEach(() => {
  for (const key of ['PORT', 'HOST', 'LOG_LEVEL', 'OPENROUTER_API_KEY', 'ALLOW_UNAUTHENTICATED']) {
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
    writeFileSync(envFile, 'PORT=1111\nHOST=10.0.0.1\nLOG_LEVEL=debug\nOPENROUTER_API_KEY=from-dotenv\n');
    process.env.PORT = '2222';
    process.env.HOST = '127.0.0.2';
    const config = loadConfig({ envFile, overrides: { PORT: 3333 } });
    expect(config.PORT).toBe(3333);
    expect(config.HOST).toBe('127.0.0.2');
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config.OPENROUTER_API_KEY).toBe('from-dotenv');
  });

  it('reads booleans and numbers from environment strings', () => {
    process.env.ALLOW_UNAUTHENTICATED = 'true';
    process.env.PORT = '8080';
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
});
