/**
 * /v1/messages keeps a silent stream alive as Anthropic does: a `ping` event whenever the
 * upstream has said nothing for the ping interval (shortened here), between any two events,
 * not only the one after message_start; none while the answer flows, none after its end.
 * The Responses API has no such event: its stream gets none.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const PING_MS = 60;
let fake: FakeOpenRouter;
let gateway: TestGateway;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  gateway = await startGateway(fake.baseUrl, {}, { anthropicPingIntervalMs: PING_MS });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
});

async function post(path: string, body: unknown): Promise<string> {
  const response = await request(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.statusCode).toBe(200);
  return response.body.text();
}

const eventNames = (text: string): string[] => text.trimEnd().split('\n\n').map((frame) => /^event: (\S+)/.exec(frame)![1]!);

describe('/v1/messages pings', () => {
  it('sends ping events while the upstream is silent mid-answer, then carries on', async () => {
    // Comment, role chunk, "One": then ten ping intervals of silence, then the rest.
    fake.script('openai/gpt-4.1', { sse: textStream(['One', ' two']), pauseAfter: { pieces: 3, ms: PING_MS * 10 } });
    const names = eventNames(await post('/v1/messages', { model: 'openai/gpt-4.1', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(names.slice(0, 2)).toEqual(['message_start', 'ping']);
    const firstText = names.indexOf('content_block_delta');
    const secondText = names.indexOf('content_block_delta', firstText + 1);
    const silentPings = names.slice(firstText + 1, secondText).filter((name) => name === 'ping').length;
    expect(silentPings).toBeGreaterThanOrEqual(3);
    expect(silentPings).toBeLessThanOrEqual(10);
    expect(names.slice(secondText + 1)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
  });

  it('sends none while the answer flows', async () => {
    fake.script('openai/gpt-4.1', { sse: textStream(['One', ' two', ' three']), delayMs: 5 });
    const names = eventNames(await post('/v1/messages', { model: 'openai/gpt-4.1', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] }));
    expect(names.filter((name) => name === 'ping')).toHaveLength(1);
  });
});

describe('/v1/responses', () => {
  it('has no keep-alive event: a silent upstream adds nothing to its stream', async () => {
    fake.script('openai/gpt-4.1', { sse: textStream(['One', ' two']), pauseAfter: { pieces: 3, ms: PING_MS * 4 } });
    const text = await post('/v1/responses', { model: 'openai/gpt-4.1', stream: true, store: false, input: 'x' });
    expect(eventNames(text).every((name) => name.startsWith('response.'))).toBe(true);
  });
});
