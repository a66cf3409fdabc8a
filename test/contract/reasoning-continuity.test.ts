/**
 * Reasoning continuity across a tool turn, with the real SDKs over real HTTP: what OpenRouter
 * streams in `reasoning_details` (Anthropic's text fragments then a signature, OpenAI's summary
 * and encrypted blob, Gemini's encrypted thought signature) comes out of each front door in its
 * dialect (/v1/messages thinking signatures and redacted_thinking, /v1/responses encrypted
 * content, /v1/chat/completions reasoning_details), and what the client sends back reaches
 * OpenRouter as the details OpenRouter's own client rebuilds from the fragments, unchanged. An
 * upstream Ollama has no signatures: they are dropped there.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../fakes/fake-ollama.js';
import { mergedReasoningDetails, reasoningStream, startFakeOpenRouter, type FakeOpenRouter, type ReasoningFragment } from '../fakes/fake-openrouter.js';
import { startGateway, startGatewayThroughIr, type TestGateway } from '../helpers/gateway.js';

let openRouter: FakeOpenRouter;
let ollama: FakeOllama;
let gateway: TestGateway;
let throughIr: TestGateway;
let overOllama: TestGateway;

// Models of the fake's list; each answer is scripted with its family's reasoning details.
const CLAUDE = 'anthropic/claude-sonnet-4.5';
const GPT = 'openai/gpt-4o';
const GEMINI = 'openai/gpt-4.1';

/** Claude's thinking as OpenRouter streams it: text fragments, then a signature-only fragment. */
const claudeFragments: ReasoningFragment[][] = [
  [{ type: 'reasoning.text', text: 'The user wants ', format: 'anthropic-claude-v1', index: 0 }],
  [{ type: 'reasoning.text', text: 'the weather.', format: 'anthropic-claude-v1', index: 0 }],
  [{ type: 'reasoning.text', signature: 'EqQBCkYIBxgCKkBf+/sig==', format: 'anthropic-claude-v1', index: 0 }],
  [{ type: 'reasoning.encrypted', data: 'EmwKAhgBEgyRedacted==', format: 'anthropic-claude-v1', index: 1 }],
];
/** GPT-5's: summary fragments and an encrypted blob with its item id. */
const gptFragments: ReasoningFragment[][] = [
  [{ type: 'reasoning.summary', summary: '**Weather** ', format: 'openai-responses-v1', index: 0 }],
  [{ type: 'reasoning.summary', summary: 'lookup', format: 'openai-responses-v1', index: 0 }],
  [{ type: 'reasoning.encrypted', data: 'gAAAAABpEncrypted+/==', id: 'rs_0c5a1e', format: 'openai-responses-v1', index: 1 }],
];
/** Gemini's: thought text, and a thought signature tied to the tool call. */
const geminiFragments: ReasoningFragment[][] = [
  [{ type: 'reasoning.text', text: 'Calling the tool.', format: 'google-gemini-v1', index: 0 }],
  [{ type: 'reasoning.encrypted', data: 'CiQB0e2KbThoughtSig==', id: 'call_g1', format: 'google-gemini-v1', index: 0 }],
];

const textOf = (fragments: ReasoningFragment[]): string | null => {
  const text = fragments.map((fragment) => (typeof fragment.text === 'string' ? fragment.text : typeof fragment.summary === 'string' ? fragment.summary : '')).join('');
  return text === '' ? null : text;
};
const weatherCall = (id: string) => ({ id, name: 'get_weather', arguments: '{"city":"Oslo"}' });

function scriptReasoning(model: string, fragments: ReasoningFragment[][], callId: string): ReasoningFragment[] {
  openRouter.script(model, (body: any) => {
    // The turn after the tool result answers in text.
    if (body.messages.at(-1)?.role === 'tool') return { sse: reasoningStream({ reasoning: [], text: ['Rain in Oslo.'] }) };
    return { sse: reasoningStream({ reasoning: fragments.map((details) => ({ text: textOf(details), details })), toolCalls: [weatherCall(callId)] }) };
  });
  return mergedReasoningDetails(fragments.flat());
}

const lastUpstream = () => openRouter.chatRequests().at(-1)!.body;
const assistantSent = () => lastUpstream().messages.find((message: any) => message.role === 'assistant');

beforeAll(async () => {
  openRouter = await startFakeOpenRouter();
  ollama = await startFakeOllama();
  gateway = await startGateway(openRouter.baseUrl);
  throughIr = await startGatewayThroughIr(openRouter.baseUrl);
  overOllama = await startGateway('http://127.0.0.1:9/api/v1', { OPENROUTER_API_KEY: undefined, OLLAMA_BASE_URL: ollama.baseUrl });
});
afterAll(async () => {
  await Promise.all([gateway?.close(), throughIr?.close(), overOllama?.close()]);
  await openRouter?.close();
  await ollama?.close();
});

const anthropic = (url: string) => new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
const openai = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
const tools: Anthropic.Tool[] = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];

describe('/v1/messages (the Anthropic SDK)', () => {
  for (const stream of [true, false]) {
    it(`gives Claude's signature and redacted reasoning as blocks and sends them back unchanged (${stream ? 'stream' : 'non-stream'})`, async () => {
      const expected = scriptReasoning(CLAUDE, claudeFragments, 'toolu_c1');
      const client = anthropic(gateway.url);
      const request = { model: CLAUDE, max_tokens: 1024, thinking: { type: 'enabled' as const, budget_tokens: 512 }, tools, messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }] };
      const first = stream ? await client.messages.stream(request).finalMessage() : await client.messages.create(request);
      expect(first.content).toEqual([
        { type: 'thinking', thinking: 'The user wants the weather.', signature: 'EqQBCkYIBxgCKkBf+/sig==' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgyRedacted==' },
        { type: 'tool_use', id: 'toolu_c1', name: 'get_weather', input: { city: 'Oslo' } },
      ]);
      await client.messages.create({
        ...request,
        messages: [...request.messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_c1', content: 'Rain' }] }],
      });
      expect(assistantSent().reasoning_details).toEqual(expected);
      expect(expected).toEqual([
        { type: 'reasoning.text', text: 'The user wants the weather.', format: 'anthropic-claude-v1', index: 0, signature: 'EqQBCkYIBxgCKkBf+/sig==' },
        { type: 'reasoning.encrypted', data: 'EmwKAhgBEgyRedacted==', format: 'anthropic-claude-v1', index: 1 },
      ]);
    });
  }

  it('carries Gemini\'s thought signature (another format) through a redacted_thinking block, exactly', async () => {
    const expected = scriptReasoning(GEMINI, geminiFragments, 'call_g1');
    const client = anthropic(gateway.url);
    const request = { model: GEMINI, max_tokens: 1024, tools, messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }] };
    const first = await client.messages.stream(request).finalMessage();
    expect(first.content.map((block) => block.type)).toEqual(['thinking', 'redacted_thinking', 'tool_use']);
    await client.messages.create({ ...request, messages: [...request.messages, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_g1', content: 'Rain' }] }] });
    // The unsigned thought text goes back as reasoning text; the signature as the detail it was.
    expect(assistantSent().reasoning_details).toEqual([expected[1]]);
    expect(assistantSent().reasoning).toBe('Calling the tool.');
  });
});

describe('/v1/responses (the OpenAI SDK)', () => {
  const responseTools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'get_weather', strict: null, parameters: { type: 'object', properties: { city: { type: 'string' } } } }];

  for (const stream of [true, false]) {
    it(`gives the reasoning details as encrypted_content when asked, and sends them back unchanged (${stream ? 'stream' : 'non-stream'})`, async () => {
      const expected = scriptReasoning(GPT, gptFragments, 'call_r1');
      const client = openai(gateway.url);
      const request = { model: GPT, store: false, include: ['reasoning.encrypted_content' as const], reasoning: { effort: 'medium' as const }, tools: responseTools, input: 'Weather in Oslo?' };
      const first = stream ? await client.responses.stream(request).finalResponse() : await client.responses.create(request);
      const output: OpenAI.Responses.ResponseOutputItem[] = first.output;
      const reasoning = output.find((item): item is OpenAI.Responses.ResponseReasoningItem => item.type === 'reasoning')!;
      expect(reasoning.summary).toEqual([{ type: 'summary_text', text: '**Weather** lookup' }]);
      expect(reasoning.encrypted_content).toEqual(expect.any(String));
      const call = output.find((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call')!;
      await client.responses.create({
        ...request,
        input: [{ role: 'user', content: 'Weather in Oslo?' }, ...first.output as OpenAI.Responses.ResponseInputItem[], { type: 'function_call_output', call_id: call.call_id, output: 'Rain' }],
      });
      expect(assistantSent()).toMatchObject({ reasoning: '**Weather** lookup', tool_calls: [{ id: 'call_r1' }] });
      expect(assistantSent().reasoning_details).toEqual(expected);
    });
  }

  it('without include, no encrypted_content and nothing to send back', async () => {
    scriptReasoning(GPT, gptFragments, 'call_r2');
    const first = await openai(gateway.url).responses.create({ model: GPT, store: false, tools: responseTools, input: 'Weather?' });
    expect(first.output.find((item) => item.type === 'reasoning')).not.toHaveProperty('encrypted_content');
  });
});

describe('/v1/chat/completions (the OpenAI SDK)', () => {
  for (const [label, url] of [['the passthrough', () => gateway.url], ['the IR', () => throughIr.url]] as const) {
    for (const stream of [true, false]) {
      it(`gives reasoning_details and sends them back unchanged, over ${label} (${stream ? 'stream' : 'non-stream'})`, async () => {
        const expected = scriptReasoning(CLAUDE, claudeFragments, 'toolu_x1');
        const client = openai(url());
        const request = { model: CLAUDE, tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }], messages: [{ role: 'user' as const, content: 'Weather?' }] };
        let details: unknown[] = [];
        let message: any;
        if (stream) {
          // The SDK's accumulator keeps only the fields it knows: read the chunks.
          const chunks = await client.chat.completions.create({ ...request, stream: true });
          const calls: any[] = [];
          for await (const chunk of chunks) {
            const delta = chunk.choices[0]?.delta as any;
            if (Array.isArray(delta?.reasoning_details)) details.push(...delta.reasoning_details);
            for (const call of delta?.tool_calls ?? []) calls.push(call);
          }
          message = { role: 'assistant', content: null, reasoning_details: label === 'the IR' ? details : mergedReasoningDetails(details as ReasoningFragment[]), tool_calls: [{ id: calls[0].id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] };
        } else {
          const completion = await client.chat.completions.create(request);
          message = completion.choices[0]!.message;
          details = message.reasoning_details;
        }
        // Over the IR the details come whole, once each; the passthrough relays OpenRouter's fragments.
        if (label === 'the IR' || !stream) expect(message.reasoning_details).toEqual(expected);
        else expect(details).toEqual(claudeFragments.flat());
        await client.chat.completions.create({ ...request, messages: [...request.messages, message, { role: 'tool', tool_call_id: 'toolu_x1', content: 'Rain' }] });
        expect(assistantSent().reasoning_details).toEqual(expected);
      });
    }
  }
});

describe('over an upstream Ollama', () => {
  it('drops the signatures (Ollama has none): the thinking text goes as thinking', async () => {
    await anthropic(overOllama.url).messages.create({
      model: 'qwen3:8b', max_tokens: 50,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'Hmm.', signature: 'EqQBsig' }, { type: 'redacted_thinking', data: 'opaque' }, { type: 'text', text: 'ok' }] },
        { role: 'user', content: 'y' },
      ],
    });
    const assistant = ollama.requestsTo('/api/chat').at(-1)!.body.messages[1];
    expect(assistant).toEqual({ role: 'assistant', content: 'ok', thinking: 'Hmm.' });
  });
});
