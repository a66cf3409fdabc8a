/**
 * A fake OpenRouter for the bench (child process). GET …/models and
 * …/models?output_modalities=embeddings serve a catalog of `--models` filler models plus one
 * `bench/<profile>` model per `--profile`; POST …/chat/completions streams SSE exactly as
 * OpenRouter does: a `: OPENROUTER PROCESSING` comment, a role chunk, N content chunks, a
 * finish chunk, a usage chunk with `choices: []`, then `data: [DONE]`. The profile comes from
 * the model id (see profiles.ts); every answer of a profile is serialised once. Chunks name
 * the model by a dated id (`bench/…-2026-01-01`), as OpenRouter names `openai/gpt-4o-mini`
 * `openai/gpt-4o-mini-2024-07-18`, so the gateway's /v1 relay has a name to put back.
 *
 *   node --import tsx bench/fake-openrouter.ts --models 320 --profile c256-s16-p0 --profile c100-s16-p20
 *     [--end-delay-ms N: end the response N ms after `data: [DONE]`]
 *
 * A request whose first message is `abort-<tag>` has the moment its client goes away recorded
 * (GET /__bench/closes), for the abort phase.
 */
import { createServer } from 'node:http';
import { chatCatalog, chunkText, embeddingCatalog, parseProfile, profileName, profileOf, type StreamProfile } from './profiles.js';
import { listenAndAnnounce, serverArgs } from './server-util.js';
import { abortTag, countConnections, readBody, recordEarlyClose, sendCloses, sendStats, writePaced } from './stream-writer.js';

const args = serverArgs({
  models: { type: 'string', default: '320' },
  profile: { type: 'string', multiple: true, default: [] },
  'end-delay-ms': { type: 'string', default: '0' },
});
const endDelayMs = Number(args['end-delay-ms']);
const profiles = args.profile.map(parseProfile);
const modelsBody = Buffer.from(JSON.stringify({ data: chatCatalog(Number(args.models), profiles) }));
const embeddingsBody = Buffer.from(JSON.stringify({ data: embeddingCatalog() }));

const CREATED = 1_767_225_600;

/** The answer for one model: every network write of it, serialised once. */
function serialise(requested: string, profile: StreamProfile): Buffer[] {
  const id = `gen-${CREATED}-${profileName(profile)}`;
  const model = `${requested}-2026-01-01`;
  const chunk = (delta: Record<string, unknown>, finish: string | null, nativeFinish: string | null): string =>
    `data: ${JSON.stringify({
      id,
      provider: 'Bench',
      model,
      object: 'chat.completion.chunk',
      created: CREATED,
      choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: nativeFinish, logprobs: null }],
    })}\n\n`;
  const delta = (content: string): Record<string, unknown> => ({ role: 'assistant', content, reasoning: null, reasoning_details: [] });
  const writes: string[] = [': OPENROUTER PROCESSING\n\n', chunk(delta(''), null, null)];
  let completionTokens = 0;
  for (let index = 0; index < profile.chunks; index++) {
    writes.push(chunk(delta(chunkText(index, profile.chunkChars)), null, null));
    completionTokens += Math.max(1, Math.round(profile.chunkChars / 4));
  }
  const usage = {
    id,
    provider: 'Bench',
    model,
    object: 'chat.completion.chunk',
    created: CREATED,
    choices: [],
    usage: {
      prompt_tokens: 9,
      completion_tokens: completionTokens,
      total_tokens: 9 + completionTokens,
      cost: 0.0000036,
      is_byok: false,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
  // Finish, usage and [DONE] leave together, as they do from OpenRouter.
  writes.push(chunk(delta(''), 'stop', 'STOP') + `data: ${JSON.stringify(usage)}\n\n` + 'data: [DONE]\n\n');
  return writes.map((text) => Buffer.from(text));
}

const answers = new Map<string, { writes: Buffer[]; paceMs: number }>();
function answerFor(model: string): { writes: Buffer[]; paceMs: number } {
  let answer = answers.get(model);
  if (answer === undefined) {
    const profile = profileOf(model);
    answer = { writes: serialise(model, profile), paceMs: profile.paceMs };
    answers.set(model, answer);
  }
  return answer;
}
for (const profile of profiles) answerFor(`bench/${profileName(profile)}`);

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  if (path.startsWith('/__bench/stats')) return sendStats(res, path);
  if (path.startsWith('/__bench/closes')) return sendCloses(res, path);
  if (req.method === 'GET' && /\/models(\?|$)/.test(path)) {
    const body = path.includes('output_modalities=embeddings') ? embeddingsBody : modelsBody;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    return;
  }
  if (req.method === 'POST' && path.endsWith('/chat/completions')) {
    readBody(req).then(
      (text) => {
        let model = '';
        try {
          const body = JSON.parse(text) as { model?: unknown; messages?: Array<{ content?: unknown }> };
          model = typeof body.model === 'string' ? body.model : '';
          const tag = abortTag(body);
          if (tag !== undefined) recordEarlyClose(res, tag);
        } catch {
          // fall through with the default profile
        }
        const answer = answerFor(model);
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          'x-generation-id': `gen-${CREATED}`,
        });
        writePaced(res, answer.writes, answer.paceMs, endDelayMs);
      },
      () => res.destroy(),
    );
    return;
  }
  const body = JSON.stringify({ error: { code: 404, message: `no route ${req.method} ${path}` } });
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(body);
});
countConnections(server);
listenAndAnnounce(server);
