/**
 * `/api/generate`'s `context` over real HTTP: the final object (stream and not) carries an
 * opaque encoding of the conversation, where Ollama puts its token ids; sent back, as
 * ollama-js users do to keep a conversation going, it puts the earlier turns before the new
 * prompt. Raw mode returns none (as Ollama), chat never has one, another server's context is a
 * 400.
 */
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { Ollama } from 'ollama';
import { CONTEXT_MARKER, decodeGenerateContext } from '../../src/frontends/ollama/generate-context.js';

import { parseNdjson, useGatewayOverFakeOpenRouter } from '../helpers/gateway.js';

const setup = useGatewayOverFakeOpenRouter();
const model = 'openai/gpt-4o';

async function post(path: string, body: unknown) {
  const response = await request(`${setup.gateway.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

const lastSentMessages = () => setup.fake.chatRequests().at(-1)!.body.messages.map((message: { role: string; content: string }) => [message.role, message.content]);


describe('/api/generate context', () => {
  it('is on the final object, streamed or not, after done_reason as in Ollama, and says the same', async () => {
    const single = await post('/api/generate', { model, prompt: 'Who is Kirk?', stream: false });
    expect(single.status).toBe(200);
    const object = JSON.parse(single.text);
    expect(Object.keys(object).slice(0, 7)).toEqual(['model', 'created_at', 'response', 'done', 'done_reason', 'context', 'total_duration']);
    expect(object.context[0]).toBe(CONTEXT_MARKER);
    expect(decodeGenerateContext(object.context)).toEqual([{ role: 'user', content: 'Who is Kirk?' }, { role: 'assistant', content: object.response }]);

    const streamed = await post('/api/generate', { model, prompt: 'Who is Kirk?' });
    const lines = parseNdjson(streamed.text);
    const final = lines.at(-1);
    expect(lines.slice(0, -1).every((line) => line.context === undefined)).toBe(true);
    expect(streamed.text.trimEnd().split('\n').at(-1)).toMatch(/"done_reason":"stop","context":\[\d+(,\d+)*\],"total_duration":/);
    const answer = lines.map((line) => line.response).join('');
    expect(decodeGenerateContext(final.context)).toEqual([{ role: 'user', content: 'Who is Kirk?' }, { role: 'assistant', content: answer }]);
    expect(final.context).toEqual(object.context);
  });

  it('continues the conversation when sent back, as ollama-js users do', async () => {
    const client = new Ollama({ host: setup.gateway.url });
    const first = await client.generate({ model, system: 'Be brief.', prompt: 'Who is Kirk?', context: [] });
    expect(lastSentMessages()).toEqual([['system', 'Be brief.'], ['user', 'Who is Kirk?']]);
    const second = await client.generate({ model, prompt: 'Who is his best friend?', context: first.context });
    expect(lastSentMessages()).toEqual([['system', 'Be brief.'], ['user', 'Who is Kirk?'], ['assistant', first.response], ['user', 'Who is his best friend?']]);
    // Streamed, with a new system prompt: it replaces the earlier one.
    let third: { context?: number[] } | undefined;
    for await (const part of await client.generate({ model, system: 'Be verbose.', prompt: 'And Spock?', context: second.context, stream: true })) third = part;
    expect(lastSentMessages()).toEqual([
      ['system', 'Be verbose.'], ['user', 'Who is Kirk?'], ['assistant', first.response],
      ['user', 'Who is his best friend?'], ['assistant', second.response], ['user', 'And Spock?'],
    ]);
    expect(decodeGenerateContext(third!.context!)).toHaveLength(7);
  });

  it('is absent in raw mode and on /api/chat', async () => {
    const raw = JSON.parse((await post('/api/generate', { model, prompt: 'hi', raw: true, stream: false })).text);
    expect(raw.done).toBe(true);
    expect(raw).not.toHaveProperty('context');
    const rawStream = parseNdjson((await post('/api/generate', { model, prompt: 'hi', raw: true })).text);
    expect(rawStream.at(-1)).not.toHaveProperty('context');
    const chat = parseNdjson((await post('/api/chat', { model, messages: [{ role: 'user', content: 'hi' }] })).text);
    expect(chat.at(-1)).not.toHaveProperty('context');
  });

  it('refuses a context this server did not make (token ids from a real Ollama) with a 400, before going upstream', async () => {
    const before = setup.fake.chatRequests().length;
    for (const stream of [false, true]) {
      const answer = await post('/api/generate', { model, prompt: 'hi', context: [128006, 882, 128007, 271], stream });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({
        error: 'context was not made by this server: ollama-bridge encodes the conversation in context, not token ids; send back the context of its last answer unchanged, or none',
      });
    }
    expect(setup.fake.chatRequests().length).toBe(before);
  });
});
