/**
 * The backends the settings configure: OpenRouter with an API key, an upstream Ollama with
 * its URL, the preferred one first (it wins a model name both serve).
 */
import type { Config } from '#schemas/config.js';
import type { BackendAdapter } from '../core/backend-adapter.js';
import { GatewayError } from '../errors.js';
import { createOllamaAdapter } from './ollama/index.js';
import { createOpenRouterAdapter } from './openrouter/index.js';

/** Sent to OpenRouter as HTTP-Referer and X-Title, as it asks of apps. */
const APP_URL = 'https://github.com/ollama-bridge/ollama-bridge';
const APP_TITLE = 'ollama-bridge';

export function createAdapters(config: Config): BackendAdapter[] {
  const adapters: BackendAdapter[] = [];
  const timeouts = {
    connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.UPSTREAM_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.UPSTREAM_BODY_TIMEOUT_MS,
  };
  if (config.OPENROUTER_API_KEY) {
    adapters.push(createOpenRouterAdapter({ apiKey: config.OPENROUTER_API_KEY, baseUrl: config.OPENROUTER_BASE_URL, appUrl: APP_URL, appTitle: APP_TITLE, ...timeouts }));
  }
  if (config.OLLAMA_BASE_URL) {
    const ollama = createOllamaAdapter({ baseUrl: config.OLLAMA_BASE_URL, ...timeouts });
    if (config.PREFER_BACKEND === 'ollama') adapters.unshift(ollama);
    else adapters.push(ollama);
  }
  if (adapters.length === 0) {
    throw new GatewayError('CONFIG_INVALID', 'no backend configured: give an OpenRouter API key in OPENROUTER_API_KEY (or a file holding it: --api-key-file, OPENROUTER_API_KEY_FILE; or --api-key), or an Ollama server with --ollama-url (or OLLAMA_BASE_URL)');
  }
  return adapters;
}
