import { describe, expect, it } from 'vitest';
import { AnthropicMessagesRequest } from '../../schemas/anthropic.js';
import { chatRequestFromAnthropic } from '../../src/frontends/anthropic/translate.js';
import { reasoningToken } from '../../src/frontends/reasoning-token.js';

const translate = (body: Record<string, unknown>) => chatRequestFromAnthropic(AnthropicMessagesRequest.parse({ model: 'm', max_tokens: 64, ...body }), 'vendor/m');

describe('chatRequestFromAnthropic', () => {
  it('puts system (a string or text blocks) first and maps the sampling fields', () => {
    const request = translate({
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Be kind.' }],
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0, top_p: 0.9, top_k: 40, stop_sequences: ['END'],
    });
    expect(request).toEqual({
      model: 'vendor/m',
      messages: [{ role: 'system', content: 'Be brief.\nBe kind.' }, { role: 'user', content: 'hi' }],
      sampling: { temperature: 0, topP: 0.9, topK: 40, maxOutputTokens: 64, stop: ['END'] },
    });
    expect(translate({ system: 'Plain.', messages: [{ role: 'user', content: 'x' }] }).messages[0]).toEqual({ role: 'system', content: 'Plain.' });
  });

  it('turns a tool loop into assistant tool calls and tool messages named after their call', () => {
    const request = translate({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Use the tool.', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: '12:00' }, { type: 'text', text: 'CET' }], is_error: false },
            { type: 'text', text: 'And tomorrow?' },
          ],
        },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather?', images: ['data:image/jpeg;base64,AAAA'] },
      {
        role: 'assistant', content: 'Checking.', reasoning: 'Use the tool.',
        // The signature and the redacted data, as reasoning details in Anthropic's format (to go back to OpenRouter).
        reasoningDetails: [
          { type: 'reasoning.text', text: 'Use the tool.', signature: 'sig', format: 'anthropic-claude-v1', index: 0 },
          { type: 'reasoning.encrypted', data: 'opaque', format: 'anthropic-claude-v1', index: 1 },
        ],
        toolCalls: [{ id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }, { id: 'toolu_2', name: 'get_time', arguments: '{}' }],
      },
      { role: 'tool', content: 'Sunny', toolCallId: 'toolu_1', toolName: 'get_weather' },
      { role: 'tool', content: '12:00\nCET', toolCallId: 'toolu_2', toolName: 'get_time' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });

  it('a thinking block or redacted_thinking carrying a reasoning token is the details in it, exactly; unsigned thinking is text only', () => {
    const gemini = { type: 'reasoning.encrypted', data: 'CiQB0e2Kb', id: 'tool_0', format: 'google-gemini-v1', index: 3 };
    const summary = { type: 'reasoning.text', text: 'Plan.', signature: 'sig-x', format: 'xai-responses-v1', index: 0 };
    const request = translate({
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Plan.', signature: reasoningToken([summary]) },
            { type: 'thinking', thinking: 'Unsigned.' },
            { type: 'redacted_thinking', data: reasoningToken([gemini]) },
            { type: 'text', text: 'ok' },
          ],
        },
      ],
    });
    expect(request.messages[1]).toEqual({ role: 'assistant', content: 'ok', reasoning: 'Plan.Unsigned.', reasoningDetails: [summary, gemini] });
  });

  it('a user message of tool results only adds no empty user message', () => {
    const request = translate({
      messages: [
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
      ],
    });
    expect(request.messages.map((message) => message.role)).toEqual(['assistant', 'tool']);
  });

  it('maps tools and every tool_choice; server tools are skipped', () => {
    const tools = [
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
    ];
    const messages = [{ role: 'user', content: 'x' }];
    const choices = [
      [{ type: 'auto' }, 'auto'],
      [{ type: 'any' }, 'required'],
      [{ type: 'none' }, 'none'],
      [{ type: 'tool', name: 'get_weather' }, { type: 'function', function: { name: 'get_weather' } }],
    ] as const;
    for (const [choice, expected] of choices) {
      const request = translate({ messages, tools, tool_choice: choice });
      expect(request.tools).toEqual([{ name: 'get_weather', description: 'Weather', parameters: tools[0]!.input_schema }]);
      expect(request.toolChoice).toEqual(expected);
    }
    expect(() => translate({ messages, tools, tool_choice: { type: 'tool' } })).toThrow(/needs a name/);
  });

  it('maps thinking enabled / disabled and output_config.effort; rejects an unknown thinking type', () => {
    const messages = [{ role: 'user', content: 'x' }];
    expect(translate({ messages, thinking: { type: 'enabled', budget_tokens: 2048 } }).reasoning).toEqual({ enabled: true });
    expect(translate({ messages, thinking: { type: 'disabled' } }).reasoning).toEqual({ enabled: false });
    expect(translate({ messages, output_config: { effort: 'high' } }).reasoning).toEqual({ enabled: true, effort: 'high' });
    expect(translate({ messages }).reasoning).toBeUndefined();
    expect(() => translate({ messages, thinking: { type: 'sometimes' } })).toThrow(/thinking.type/);
    expect(() => translate({ messages, output_config: { effort: 'extreme' } })).toThrow(/invalid reasoning effort/);
  });

  it('tolerates unknown block types and fields; rejects an image without a usable source', () => {
    const request = translate({
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBE' } }, { type: 'text', text: 'Summarise', cache_control: { type: 'ephemeral' } }] }],
      metadata: { user_id: 'u1' },
      service_tier: 'auto',
    });
    expect(request.messages).toEqual([{ role: 'user', content: 'Summarise' }]);
    expect(translate({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] }] }).messages[0]!.images).toEqual(['https://example.com/a.png']);
    expect(() => translate({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] })).toThrow(/image block/);
  });
});
