/**
 * The reverse direction: the gateway's OpenAI front door (`POST /v1/chat/completions`) over an
 * Ollama upstream (`--ollama-url`). Built in parallel with this bench, so support is detected
 * from `--help`; the model name the gateway lists for the fake's model is discovered, and one
 * probe answer must end properly before the direction is measured.
 */
import { request } from 'undici';
import { chatBody, timedStream, type StreamTarget } from '../client.js';
import { gatewayHelp, startGateway, type Child } from '../children.js';

export type ReverseSetup =
  | { available: true; gateway: Child; target: StreamTarget; args: string[] }
  | { available: false; reason: string };

async function getJson(url: string): Promise<unknown> {
  try {
    const response = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return undefined;
    }
    return await response.body.json();
  } catch {
    return undefined;
  }
}

/** The name under which the gateway lists `wanted` (its /v1/models, then /api/tags), else `wanted`. */
async function discoverModel(gatewayUrl: string, wanted: string, hint: string): Promise<string> {
  const openai = (await getJson(`${gatewayUrl}/v1/models`)) as { data?: Array<{ id?: unknown }> } | undefined;
  const ids = (openai?.data ?? []).map((model) => (typeof model.id === 'string' ? model.id : ''));
  const tags = (await getJson(`${gatewayUrl}/api/tags`)) as { models?: Array<{ name?: unknown }> } | undefined;
  const names = (tags?.models ?? []).map((model) => (typeof model.name === 'string' ? model.name : ''));
  for (const candidate of [...ids, ...names]) if (candidate === wanted) return candidate;
  for (const candidate of [...ids, ...names]) if (candidate.includes(hint)) return candidate;
  return wanted;
}

export async function setUpReverse(options: {
  fakeOllamaUrl: string;
  fakeOpenRouterUrl: string;
  ollamaModel: string;
  profileHint: string;
}): Promise<ReverseSetup> {
  const help = await gatewayHelp();
  if (!help.includes('--ollama-url')) return { available: false, reason: 'not available in this build (no --ollama-url in --help)' };
  // Ollama as the only backend first; some builds may still insist on an OpenRouter key.
  const attempts = [
    ['--ollama-url', options.fakeOllamaUrl],
    ['--ollama-url', options.fakeOllamaUrl, '--api-key', 'sk-bench', '--openrouter-url', `${options.fakeOpenRouterUrl}/api/v1`],
  ];
  const failures: string[] = [];
  for (const args of attempts) {
    let gateway: Child;
    try {
      gateway = await startGateway('gateway-reverse', args, { timeoutMs: 20_000 });
    } catch (error) {
      failures.push(`start with ${args.filter((arg) => arg.startsWith('--')).join(' ')}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
      continue;
    }
    const model = await discoverModel(gateway.url, options.ollamaModel, options.profileHint);
    const target: StreamTarget = {
      name: 'gateway /v1/chat/completions',
      url: `${gateway.url}/v1/chat/completions`,
      body: chatBody(model, { stream: true }),
      kind: 'sse',
    };
    const probe = await timedStream(target);
    if (probe.complete) return { available: true, gateway, target, args };
    failures.push(`probe of model ${model}: ${probe.error ?? 'answer did not end with data: [DONE]'}`);
    gateway.process.kill('SIGKILL');
  }
  return { available: false, reason: `--ollama-url is listed but the direction could not be measured: ${failures.join('; ')}` };
}
