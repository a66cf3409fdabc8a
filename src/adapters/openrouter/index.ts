/**
 * The OpenRouter adapter: the only OpenRouter file that does I/O. It wires the HTTP client
 * to the pure translators next to it.
 */
import { clientLeft } from '../../streaming/client-abort.js';
import { OpenRouterEmbeddingResponse, OpenRouterModelList } from '#schemas/openrouter.js';
import type { BackendAdapter, CallContext, ForwardedResponse, OpenAiChatForward } from '../../core/backend-adapter.js';
import type { ChatRequest, ChatStream, EmbedRequest, EmbedResult, ModelInfo } from '../../core/types.js';
import { GatewayError, fromUpstreamStatus } from '../../errors.js';
import { UpstreamClient } from '../../http/upstream-client.js';
import { OPENROUTER, openRouterErrorIn } from './errors.js';
import { droppedFields, toPassthroughBody } from './passthrough-body.js';
import { toOpenRouterChatBody, toOpenRouterEmbedBody } from './request.js';
import { decodeOpenRouterStream } from './stream.js';
import { originFromOpenAi, usageFromOpenAi } from '../../core/openai-answer.js';
import { toModelInfos } from './models.js';
import { notAModelList, wrongUrlError } from '../model-list-url.js';

export interface OpenRouterAdapterOptions {
  apiKey: string;
  baseUrl: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Sent as HTTP-Referer / X-Title, as OpenRouter asks of apps. */
  appUrl: string;
  appTitle: string;
}

export const OPENROUTER_BACKEND = 'openrouter';

export function createOpenRouterAdapter(options: OpenRouterAdapterOptions): BackendAdapter {
  const client = new UpstreamClient({
    name: OPENROUTER,
    baseUrl: options.baseUrl,
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      'http-referer': options.appUrl,
      'x-title': options.appTitle,
      'x-openrouter-title': options.appTitle,
      accept: 'application/json',
    },
    connectTimeoutMs: options.connectTimeoutMs,
    headersTimeoutMs: options.headersTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    // A 401 (or a 403 about the key) is the gateway's own key refused.
    statusError: (status, body, retryAfter) => fromUpstreamStatus(OPENROUTER, status, body, retryAfter),
    answerError: (parsed) => openRouterErrorIn(parsed),
  });

  async function fetchModelList(path: string, signal?: AbortSignal): Promise<unknown[]> {
    const payload = OpenRouterModelList.safeParse(await client.json('GET', path, undefined, signal));
    if (!payload.success) throw new GatewayError('UPSTREAM_BAD_RESPONSE', `OpenRouter's ${path} answer has no data list`);
    return payload.data.data;
  }

  /** The chat models; a URL that does not serve OpenRouter's list is a configuration error that says so. */
  async function fetchChatModels(signal?: AbortSignal): Promise<unknown[]> {
    const endpoint = { upstreamName: client.name, baseUrl: options.baseUrl, path: '/models', setting: '--openrouter-url (OPENROUTER_BASE_URL)', example: 'https://openrouter.ai/api/v1' };
    let answer: unknown;
    try {
      answer = await client.json('GET', '/models', undefined, signal);
    } catch (error) {
      throw wrongUrlError(endpoint, error) ?? error;
    }
    const payload = OpenRouterModelList.safeParse(answer);
    if (!payload.success) throw notAModelList(endpoint, 'answered JSON without a "data" list of models');
    return payload.data.data;
  }

  return {
    name: OPENROUTER_BACKEND,

    async listModels(signal) {
      // Embedding models are listed only when asked for.
      const [chatModels, embeddingModels] = await Promise.all([
        fetchChatModels(signal),
        fetchModelList('/models?output_modalities=embeddings', signal).catch(() => [] as unknown[]),
      ]);
      const seen = new Set<string>();
      const models: ModelInfo[] = [];
      for (const model of toModelInfos([...chatModels, ...embeddingModels], OPENROUTER_BACKEND).models) {
        if (seen.has(model.id)) continue;
        seen.add(model.id);
        models.push(model);
      }
      return models;
    },

    async streamChat(request: ChatRequest, context: CallContext): Promise<ChatStream> {
      const body = await client.openStream('/chat/completions', toOpenRouterChatBody(request), context.signal);
      // A client hang-up before the first pull is covered by the abort signal.
      return decodeOpenRouterStream(body, () => clientLeft(context.signal), (completed) => body.release(completed), context.onOrigin);
    },

    async forwardOpenAiChat(request: OpenAiChatForward, context: CallContext): Promise<ForwardedResponse> {
      // OpenRouter speaks OpenAI's chat dialect: the client's fields go out as they came, those OpenRouter may be sent of them.
      const body = toPassthroughBody(request);
      const dropped = droppedFields(request.body);
      if (dropped.length > 0) context.log.debug({ droppedFields: dropped }, 'fields not forwarded upstream');
      return { upstream: client.name, body: await client.openStream('/chat/completions', body, context.signal), errorIn: openRouterErrorIn };
    },

    async embed(request: EmbedRequest, context: CallContext): Promise<EmbedResult> {
      const answer = await client.json('POST', '/embeddings', toOpenRouterEmbedBody(request), context.signal);
      const parsed = OpenRouterEmbeddingResponse.safeParse(answer);
      if (!parsed.success) throw new GatewayError('UPSTREAM_BAD_RESPONSE', 'OpenRouter sent an embeddings answer without vectors');
      const ordered = [...parsed.data.data].sort((left, right) => (left.index ?? 0) - (right.index ?? 0));
      const result: EmbedResult = { embeddings: ordered.map((item) => item.embedding) };
      if (parsed.data.usage) result.usage = usageFromOpenAi(parsed.data.usage);
      const origin = originFromOpenAi(parsed.data);
      if (origin !== undefined) context.onOrigin?.(origin);
      return result;
    },

    close: () => client.close(),
  };
}
