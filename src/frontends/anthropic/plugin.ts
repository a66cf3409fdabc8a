/**
 * The Anthropic Messages API (what Claude Code speaks), registered with
 * `prefix: '/v1/messages'`: `POST /v1/messages` through the IR (Anthropic request →
 * ChatRequest → `adapter.streamChat()` → Anthropic SSE or one `message` object), so it works
 * over every backend and model, metered and checked like every other chat route; and
 * `POST /v1/messages/count_tokens`, an estimate that calls no upstream (unmetered).
 *
 * Errors, including the shared hooks' 401/402/403/429, in Anthropic's envelope
 * `{"type": "error", "error": {"type", "message"}}` with the status; after the first byte of
 * a stream, one `error` event. A `ping` event goes out whenever the upstream has been silent
 * for a while (Claude Code and the SDK wait on a quiet stream; proxies cut idle ones).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AnthropicCountTokensRequest, AnthropicMessagesRequest } from '#schemas/anthropic.js';
import { assertModelAccess } from '../../auth/access-control.js';
import { collectChat } from '../../core/collect.js';
import type { CatalogEntry, ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import { GatewayError, toAnthropicErrorBody } from '../../errors.js';
import { parseBody, sendGatewayError, toGatewayError } from '../../http/request-errors.js';
import { sendEncodedStream } from '../../streaming/send-stream.js';
import { estimatePromptTokens } from '../../usage/request-usage.js';
import { meterRequest, openChatAnyReasoning, meteredEncoder, meteredStream, replayed } from '../answer-helpers.js';
import { AnthropicStreamEncoder, PING, messageObject, newMessageMeta } from './encode.js';
import { chatRequestFromAnthropic } from './translate.js';

export interface AnthropicFrontendOptions {
  catalog: ModelCatalog;
  /** A `ping` event after this long with nothing sent while the upstream is silent (default 10 s). */
  pingIntervalMs?: number | undefined;
}

const PING_INTERVAL_MS = 10_000;

const JSON_TYPE = 'application/json; charset=utf-8';
const SSE_TYPE = 'text/event-stream';

export async function anthropicFrontend(app: FastifyInstance, options: AnthropicFrontendOptions): Promise<void> {
  const { catalog } = options;
  const ping = { text: PING, everyMs: options.pingIntervalMs ?? PING_INTERVAL_MS };
  const resolve = async (request: FastifyRequest, name: string): Promise<CatalogEntry> => {
    const entry = await catalog.resolve(name);
    assertModelAccess(request, entry, name);
    return entry;
  };

  const sendError = (error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply => sendGatewayError(error, request, reply, toAnthropicErrorBody);
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => sendError(toGatewayError(error, request), request, reply));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const error = request.method !== 'POST' && app.findRoute({ method: 'POST', url: path }) !== null
      ? new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`)
      : new GatewayError('ROUTE_NOT_FOUND', `${request.method} ${path} is not an Anthropic Messages route of this server`);
    return sendError(error, request, reply);
  });

  app.post('', async (request, reply) => {
    const body = parseBody(AnthropicMessagesRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'invalid request: model: Field required');
    if (body.max_tokens === undefined) throw new GatewayError('BAD_REQUEST', 'invalid request: max_tokens: Field required');
    if (body.max_tokens < 1) throw new GatewayError('BAD_REQUEST', 'invalid request: max_tokens: must be at least 1');
    if (!body.messages || body.messages.length === 0) throw new GatewayError('BAD_REQUEST', 'invalid request: messages: at least one message is required');
    const entry = await resolve(request, body.model);
    const usage = meterRequest(request, entry);
    const started = await openChatAnyReasoning(request, reply, catalog, entry, body.model, (candidate) => applyModelDefaults(chatRequestFromAnthropic(body, candidate.info.id), candidate.defaults));
    if (body.stream !== true) {
      const result = await collectChat(meteredStream(replayed(started), usage));
      return reply.type(JSON_TYPE).send(messageObject(result, newMessageMeta(body.model, 0)));
    }
    const { first, rest } = started;
    const encoder = new AnthropicStreamEncoder(newMessageMeta(body.model, estimatedPromptTokens(body)));
    return sendEncodedStream(reply, SSE_TYPE, first, rest, meteredEncoder(encoder, usage), ping);
  });

  // An estimate from the request's own text: nothing goes upstream, nothing is spent.
  app.post('/count_tokens', { config: { unmetered: true } }, async (request, reply) => {
    const body = parseBody(AnthropicCountTokensRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'invalid request: model: Field required');
    await resolve(request, body.model);
    return reply.type(JSON_TYPE).send({ input_tokens: estimatedPromptTokens(body) });
  });
}

/**
 * The prompt's tokens, estimated: a quarter of the characters of every string in `system`,
 * `messages` and `tools` (image data left out), as the usage record estimates a prompt.
 */
function estimatedPromptTokens(body: AnthropicCountTokensRequest): number {
  return estimatePromptTokens([body.system, body.messages, body.tools]);
}
