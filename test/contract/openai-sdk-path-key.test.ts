/**
 * The real `openai` npm client with the key in the URL path (`/key/<key>/v1`) and the usual
 * dummy `apiKey: 'ollama'`, which the SDK always sends as `Authorization: Bearer ollama`
 * (issue 12 §2): any valid credential on a request is enough.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

let fake: FakeOpenRouter;
let gateway: TestGateway;
let directory: string;
let key: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-path-key-'));
  const keysFile = join(directory, 'keys.json');
  key = createKeyCommand({ keysFile, name: 'copilot' }).trimEnd().split('\n').at(-1)!;
  gateway = await startGateway(fake.baseUrl, { BRIDGE_KEYS_FILE: keysFile });
});
afterAll(async () => {
  await gateway?.close();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('openai-node with baseURL /key/<key>/v1 and apiKey "ollama"', () => {
  it('lists models, chats and streams', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/key/${key}/v1`, apiKey: 'ollama', maxRetries: 0 });
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids.some((id) => id.startsWith('openai/gpt-4o'))).toBe(true);
    const completion = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
    expect(completion.choices[0]!.message.content).toContain('hello');
    const stream = await client.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'stream me' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('stream me');
  });

  it('a wrong path key with the dummy apiKey is still an AuthenticationError', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/key/obk_wrong_key/v1`, apiKey: 'ollama', maxRetries: 0 });
    await expect(client.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
