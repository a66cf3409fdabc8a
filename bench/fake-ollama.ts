/**
 * A fake Ollama for the bench (child process). POST /api/chat streams NDJSON: N lines
 * `{"model","created_at","message":{"role":"assistant","content":…},"done":false}` and a final
 * `done:true` line with metrics (or one object when `stream:false`). GET /api/tags lists one
 * model per `--profile`; /api/version, /api/show and /api/ps answer minimally. The profile
 * comes from the model name (see profiles.ts); every answer is serialised once.
 *
 *   node --import tsx bench/fake-ollama.ts --profile c256-s16-p0
 */
import { createServer } from 'node:http';
import { chunkText, ollamaModelName, parseProfile, profileOf, type StreamProfile } from './profiles.js';
import { listenAndAnnounce, serverArgs } from './server-util.js';
import { countConnections, readBody, sendStats, writePaced } from './stream-writer.js';

const args = serverArgs({ profile: { type: 'string', multiple: true, default: [] } });
const profiles = args.profile.map(parseProfile);
const CREATED_AT = '2026-01-01T00:00:00.000000000Z';
const DIGEST = 'a'.repeat(64);

const details = { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '8.0B', quantization_level: 'Q4_K_M' };
const tagsBody = Buffer.from(JSON.stringify({
  models: profiles.map((profile) => ({
    name: ollamaModelName(profile),
    model: ollamaModelName(profile),
    modified_at: CREATED_AT,
    size: 4_920_753_328,
    digest: DIGEST,
    details,
  })),
}));

const finalMetrics = { total_duration: 4_883_583_458, load_duration: 1_334_875, prompt_eval_count: 26, prompt_eval_duration: 342_546_000, eval_duration: 4_535_599_000 };

function serialise(model: string, profile: StreamProfile): { writes: Buffer[]; single: Buffer } {
  const line = (content: string): string =>
    `${JSON.stringify({ model, created_at: CREATED_AT, message: { role: 'assistant', content }, done: false })}\n`;
  const writes: string[] = [];
  let text = '';
  for (let index = 0; index < profile.chunks; index++) {
    const piece = chunkText(index, profile.chunkChars);
    text += piece;
    writes.push(line(piece));
  }
  const done = { model, created_at: CREATED_AT, message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', ...finalMetrics, eval_count: profile.chunks };
  writes.push(`${JSON.stringify(done)}\n`);
  const single = { ...done, message: { role: 'assistant', content: text } };
  return { writes: writes.map((item) => Buffer.from(item)), single: Buffer.from(JSON.stringify(single)) };
}

const answers = new Map<string, { writes: Buffer[]; single: Buffer; paceMs: number }>();
function answerFor(model: string): { writes: Buffer[]; single: Buffer; paceMs: number } {
  let answer = answers.get(model);
  if (answer === undefined) {
    const profile = profileOf(model);
    answer = { ...serialise(model, profile), paceMs: profile.paceMs };
    answers.set(model, answer);
  }
  return answer;
}
for (const profile of profiles) answerFor(ollamaModelName(profile));

function sendJson(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer((req, res) => {
  if ((req.url ?? '').startsWith('/__bench/stats')) return sendStats(res, req.url ?? '');
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Ollama is running');
    return;
  }
  if (req.method === 'GET' && path === '/api/version') return sendJson(res, 200, { version: '0.12.10' });
  if (req.method === 'GET' && path === '/api/tags') return sendJson(res, 200, tagsBody);
  if (req.method === 'GET' && path === '/api/ps') return sendJson(res, 200, { models: [] });
  if (req.method === 'POST' && (path === '/api/show' || path === '/api/chat')) {
    readBody(req).then(
      (text) => {
        let body: { model?: unknown; name?: unknown; stream?: unknown } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return sendJson(res, 400, { error: 'invalid JSON' });
        }
        const model = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : '';
        if (path === '/api/show') {
          return sendJson(res, 200, {
            license: '',
            modelfile: `FROM ${model}\n`,
            parameters: '',
            template: '{{ .Prompt }}',
            details,
            model_info: { 'general.architecture': 'llama', 'llama.context_length': 131_072 },
            capabilities: ['completion', 'tools'],
            modified_at: CREATED_AT,
          });
        }
        const answer = answerFor(model);
        if (body.stream === false) return sendJson(res, 200, answer.single);
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        writePaced(res, answer.writes, answer.paceMs);
      },
      () => res.destroy(),
    );
    return;
  }
  sendJson(res, 404, { error: `no route ${req.method} ${path}` });
});
countConnections(server);
listenAndAnnounce(server);
