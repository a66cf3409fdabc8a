/**
 * Starts the real gateway (buildApp + listen on a free port) with hermetic configuration:
 * no process environment, no .env file, upstream pointed at a fake.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { BackendAdapter } from '../../src/core/backend-adapter.js';
import { createOpenRouterAdapter } from '../../src/adapters/openrouter/index.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../schemas/config.js';
import { afterAll, beforeAll } from 'vitest';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';

export interface TestGateway {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  /** Replaces the backends built from the configuration. */
  adapters?: BackendAdapter[];
  /** Capture log lines (at the configured LOG_LEVEL) instead of discarding them. */
  logDestination?: NodeJS.WritableStream;
  /** The wall clock of budget periods (Unix ms). */
  now?: () => number;
  /** The admin page's files (a test's own folder, so tests never depend on the built page). */
  adminPageDir?: string;
  /** Signs admin session cookies (gateways given the same one share sessions, as workers do). */
  adminSessionSecret?: string;
  /** /v1/messages: a `ping` after this many ms of upstream silence. */
  anthropicPingIntervalMs?: number;
}

export async function startGateway(
  openRouterUrl: string,
  overrides: Partial<Record<keyof Config, unknown>> = {},
  options: StartGatewayOptions = {},
): Promise<TestGateway> {
  const config = loadConfig({
    // No usage database unless a test asks for one (USAGE: true and a USAGE_DB in a temp dir): never the user's home.
    overrides: { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: openRouterUrl, PORT: 0, LOG_LEVEL: 'silent', USAGE: false, ...overrides },
    envFile: false,
    readProcessEnv: false,
  });
  const extras = {
    ...(options.adapters === undefined ? {} : { adapters: options.adapters }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.adminPageDir === undefined ? {} : { adminPageDir: options.adminPageDir }),
    ...(options.adminSessionSecret === undefined ? {} : { adminSessionSecret: options.adminSessionSecret }),
    ...(options.anthropicPingIntervalMs === undefined ? {} : { anthropicPingIntervalMs: options.anthropicPingIntervalMs }),
  };
  const app = options.logDestination === undefined
    ? await buildApp({ config, logger: false, ...extras })
    : await buildApp({ config, logDestination: options.logDestination, ...extras });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.catalog.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    // Idle connections a client opened but never used (fetch after abort) would hold close() up.
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

/** Reads an NDJSON body into parsed lines. */
export function parseNdjson(text: string): any[] {
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}

export interface GatewayOverFakeOpenRouter {
  /** Set before the first test runs. */
  readonly fake: FakeOpenRouter;
  readonly gateway: TestGateway;
}

/**
 * The usual setup of a test file: a fake OpenRouter and the gateway in front of it, started
 * before the file's tests and closed after them.
 */
export function useGatewayOverFakeOpenRouter(overrides: Partial<Record<keyof Config, unknown>> = {}): GatewayOverFakeOpenRouter {
  const setup = {} as { fake: FakeOpenRouter; gateway: TestGateway };
  beforeAll(async () => {
    setup.fake = await startFakeOpenRouter();
    setup.gateway = await startGateway(setup.fake.baseUrl, overrides);
  });
  afterAll(async () => {
    await setup.gateway?.close();
    await setup.fake?.close();
  });
  return setup;
}

/**
 * The gateway over the fake OpenRouter with the adapter's same-dialect passthrough taken
 * away, so that /v1 goes through the internal representation (as it does for backends
 * without one).
 */
export function startGatewayThroughIr(openRouterUrl: string): Promise<TestGateway> {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- dropped, never called
  const { forwardOpenAiChat: _passthrough, ...withoutPassthrough } = createOpenRouterAdapter({
    apiKey: FAKE_API_KEY, baseUrl: openRouterUrl, connectTimeoutMs: 2000, headersTimeoutMs: 5000, bodyTimeoutMs: 5000, appUrl: 'http://test', appTitle: 'test',
  });
  return startGateway(openRouterUrl, {}, { adapters: [withoutPassthrough] });
}
