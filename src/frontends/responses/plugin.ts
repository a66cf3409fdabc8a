/**
 * The OpenAI Responses API (what Codex speaks), registered with `prefix: '/v1/responses'`:
 * `POST /v1/responses` through the IR (Responses request → ChatRequest →
 * `adapter.streamChat()` → Responses SSE or one `response` object), so it works over every
 * backend and model, metered and checked like every other chat route. Stateless, as Ollama
 * and OpenRouter serve it: `previous_response_id`, `conversation` and `store: true` are 400s.
 *
 * Errors, including the shared hooks' 401/402/403/429, in OpenAI's envelope
 * `{"error": {"message", "type", "param", "code"}}` with the status; after the first byte of
 * a stream, one `response.failed` event.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ResponsesRequest } from '#schemas/responses.js';
import { assertModelAccess } from '../../auth/access-control.js';
import { collectChat } from '../../core/collect.js';
import type { ModelCatalog } from '../../core/model-catalog.js';
import { applyModelDefaults } from '../../core/models-config.js';
import { GatewayError, toOpenAiErrorBody } from '../../errors.js';
import { parseBody, sendGatewayError, toGatewayError } from '../../http/request-errors.js';
import { sendEncodedStream } from '../../streaming/send-stream.js';
import { meterRequest, openChatAnyReasoning, meteredEncoder, meteredStream, replayed } from '../answer-helpers.js';
import { ResponsesStreamEncoder, newResponseMeta, responseFromResult } from './encode.js';
import { chatRequestFromResponses, toolKinds } from './translate.js';

export interface ResponsesFrontendOptions {
  catalog: ModelCatalog;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const SSE_TYPE = 'text/event-stream';
const STATELESS = 'this server is stateless (as Ollama and OpenRouter serve the Responses API): send the whole conversation in `input`';

export async function responsesFrontend(app: FastifyInstance, options: ResponsesFrontendOptions): Promise<void> {
  const { catalog } = options;
  const sendError = (error: GatewayError, request: FastifyRequest, reply: FastifyReply): FastifyReply => sendGatewayError(error, request, reply, toOpenAiErrorBody);
  app.setErrorHandler((error: FastifyError | GatewayError, request, reply) => sendError(toGatewayError(error, request), request, reply));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const error = request.method !== 'POST' && app.findRoute({ method: 'POST', url: path }) !== null
      ? new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`)
      : new GatewayError('ROUTE_NOT_FOUND', `${request.method} ${path}: stored responses are not kept (${STATELESS})`);
    return sendError(error, request, reply);
  });

  app.post('', async (request, reply) => {
    const body = parseBody(ResponsesRequest, request.body);
    if (!body.model) throw new GatewayError('BAD_REQUEST', 'invalid request: model: Field required');
    if (body.previous_response_id) throw new GatewayError('BAD_REQUEST', `previous_response_id is not supported: ${STATELESS}`);
    if (body.conversation !== undefined && body.conversation !== null) throw new GatewayError('BAD_REQUEST', `conversation is not supported: ${STATELESS}`);
    if (body.store === true) throw new GatewayError('BAD_REQUEST', `store: true is not supported: ${STATELESS}; send store: false`);
    if (body.input === undefined || body.input.length === 0) throw new GatewayError('BAD_REQUEST', 'invalid request: input: a string or at least one item is required');
    const entry = await catalog.resolve(body.model);
    assertModelAccess(request, entry, body.model);
    const usage = meterRequest(request, entry);
    const tools = toolKinds(body.tools);
    if (tools.builtIn.length > 0) request.log.info({ tools: tools.builtIn }, 'built-in tools left out: neither the gateway nor its upstreams run them');
    const started = await openChatAnyReasoning(request, reply, catalog, entry, body.model, (candidate) => applyModelDefaults(chatRequestFromResponses(body, candidate.info.id), candidate.defaults));
    const meta = newResponseMeta(echoedFields(body), { encryptedReasoning: body.include?.includes('reasoning.encrypted_content') === true, tools: tools.byUpstreamName });
    if (body.stream !== true) {
      const result = await collectChat(meteredStream(replayed(started), usage));
      return reply.type(JSON_TYPE).send(responseFromResult(result, meta));
    }
    const { first, rest } = started;
    return sendEncodedStream(reply, SSE_TYPE, first, rest, meteredEncoder(new ResponsesStreamEncoder(meta), usage));
  });
}

/** The request's settings a response object repeats, the model as the client named it. */
function echoedFields(body: ResponsesRequest): Record<string, unknown> {
  return {
    model: body.model,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    tools: body.tools ?? [],
    tool_choice: body.tool_choice ?? 'auto',
    text: { format: body.text?.format ?? { type: 'text' } },
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
  };
}
