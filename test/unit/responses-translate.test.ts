import { describe, expect, it } from 'vitest';
import { ResponsesRequest } from '../../schemas/responses.js';
import { GatewayError } from '../../src/errors.js';
import { chatRequestFromResponses, toolKinds, upstreamToolName } from '../../src/frontends/responses/translate.js';
import { reasoningToken } from '../../src/frontends/reasoning-token.js';

const translate = (body: unknown) => chatRequestFromResponses(ResponsesRequest.parse(body), 'up/model');

describe('chatRequestFromResponses', () => {
  it('makes one assistant turn of a reasoning item, text and consecutive function calls; outputs name their call', () => {
    const request = translate({
      input: [
        { role: 'user', content: 'Weather in Oslo and the time?' },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Two tools.' }], encrypted_content: 'opaque' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.' }] },
        { type: 'function_call', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'call_b', name: 'get_time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: [{ type: 'input_text', text: 'Rain' }] },
        { type: 'function_call_output', call_id: 'call_b', output: '12:00' },
      ],
    });
    expect(request.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo and the time?' },
      {
        role: 'assistant', content: 'Checking.', reasoning: 'Two tools.',
        toolCalls: [{ id: 'call_a', name: 'get_weather', arguments: '{"city":"Oslo"}' }, { id: 'call_b', name: 'get_time', arguments: '{}' }],
      },
      { role: 'tool', content: 'Rain', toolCallId: 'call_a', toolName: 'get_weather' },
      { role: 'tool', content: '12:00', toolCallId: 'call_b', toolName: 'get_time' },
    ]);
  });

  it('instructions first, developer as system, sampling, tool choice of one function, json_schema, effort', () => {
    const request = translate({
      instructions: 'Be terse.', input: [{ role: 'developer', content: 'No emojis.' }, { role: 'user', content: 'x' }],
      temperature: 0.5, top_p: 0.8, max_output_tokens: 99,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type: 'web_search' }], tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } }, reasoning: { effort: 'minimal' },
    });
    expect(request).toEqual({
      model: 'up/model',
      messages: [{ role: 'system', content: 'Be terse.' }, { role: 'system', content: 'No emojis.' }, { role: 'user', content: 'x' }],
      sampling: { temperature: 0.5, topP: 0.8, maxOutputTokens: 99 },
      tools: [{ name: 'f', parameters: { type: 'object' } }],
      toolChoice: { type: 'function', function: { name: 'f' } },
      responseFormat: { type: 'json-schema', name: 'out', schema: { type: 'object' }, strict: true },
      reasoning: { enabled: true, effort: 'minimal' },
    });
  });

  it('refuses an input_image without a URL (file_id), a function call without call_id, an unknown format type', () => {
    for (const body of [
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] },
      { input: [{ type: 'function_call', name: 'f', arguments: '{}' }] },
      { input: 'x', text: { format: { type: 'yaml' } } },
    ]) {
      expect(() => translate(body), JSON.stringify(body)).toThrow(GatewayError);
    }
  });
});

describe('chatRequestFromResponses: reasoning tokens, custom and built-in tools, strict', () => {
  it('gives the reasoning details in a reasoning item\'s token to the next assistant turn, exactly; other encrypted content is not sent', () => {
    const details = [
      { type: 'reasoning.summary', summary: 'Plan.', format: 'openai-responses-v1', index: 0 },
      { type: 'reasoning.encrypted', data: 'gAAAAB+/=', id: 'rs_1', format: 'openai-responses-v1', index: 1 },
    ];
    const request = translate({
      input: [
        { role: 'user', content: 'x' },
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Plan.' }], encrypted_content: reasoningToken(details) },
        { type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_a', output: 'ok' },
        { type: 'reasoning', summary: [], encrypted_content: 'another-servers-blob' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Done.' }] },
      ],
    });
    expect(request.messages[1]).toEqual({ role: 'assistant', content: '', reasoning: 'Plan.', reasoningDetails: details, toolCalls: [{ id: 'call_a', name: 'f', arguments: '{}' }] });
    expect(request.messages[3]).toEqual({ role: 'assistant', content: 'Done.' });
  });

  it('sends a custom tool as a function of {input} (its grammar in the description) and its calls and outputs as tool calls and results', () => {
    const request = translate({
      input: [
        { role: 'user', content: 'patch it' },
        { type: 'custom_tool_call', call_id: 'call_p', name: 'apply_patch', input: '*** Begin Patch\n*** End Patch' },
        { type: 'custom_tool_call_output', call_id: 'call_p', output: 'Done!' },
      ],
      tools: [
        { type: 'custom', name: 'apply_patch', description: 'Edit files.', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
        { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: true },
        { type: 'web_search' },
        { type: 'local_shell' },
      ],
    });
    expect(request.tools).toEqual([
      {
        name: 'apply_patch', description: 'Edit files.',
        parameters: {
          type: 'object', required: ['input'], additionalProperties: false,
          properties: { input: { type: 'string', description: 'The tool\'s raw input text. It must follow this lark grammar:\nstart: "x"' } },
        },
      },
      { name: 'get_time', parameters: { type: 'object', properties: {} }, strict: true },
    ]);
    expect(request.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_p', name: 'apply_patch', arguments: JSON.stringify({ input: '*** Begin Patch\n*** End Patch' }) }] },
      { role: 'tool', content: 'Done!', toolCallId: 'call_p', toolName: 'apply_patch' },
    ]);
    expect(toolKinds(ResponsesRequest.parse({ tools: [{ type: 'custom', name: 'apply_patch' }, { type: 'web_search' }, { type: 'local_shell' }] }).tools)).toEqual({
      byUpstreamName: new Map([['apply_patch', { name: 'apply_patch', custom: true }]]),
      builtIn: ['web_search', 'local_shell'],
    });
    // Choosing the custom tool is choosing the function it is upstream.
    const chosen = translate({ input: 'x', tools: [{ type: 'custom', name: 'apply_patch' }], tool_choice: { type: 'custom', name: 'apply_patch' } });
    expect(chosen.toolChoice).toEqual({ type: 'function', function: { name: 'apply_patch' } });
  });
});

describe('upstreamToolName', () => {
  it('names a namespace member <namespace>__<name>, once, in characters every upstream accepts', () => {
    expect(upstreamToolName('create_issue', undefined)).toBe('create_issue');
    expect(upstreamToolName('create_issue', 'github')).toBe('github__create_issue');
    expect(upstreamToolName('github.create_issue', 'github')).toBe('github__create_issue');
    expect(upstreamToolName('github__create_issue', 'github')).toBe('github__create_issue');
    expect(upstreamToolName('read file', 'fs.local')).toBe('fs_local__read_file');
    // Names without a namespace are the client's own: not rewritten.
    expect(upstreamToolName('my.tool', null)).toBe('my.tool');
  });

  it('maps each member back to its name and namespace; a namespace without a name is a 400', () => {
    const { byUpstreamName } = toolKinds(ResponsesRequest.parse({
      tools: [{ type: 'namespace', name: 'crm', tools: [{ type: 'function', name: 'find' }, { type: 'custom', name: 'crm.note' }, { type: 'web_search' }] }],
    }).tools);
    expect(byUpstreamName).toEqual(new Map([
      ['crm__find', { name: 'find', namespace: 'crm', custom: false }],
      ['crm__note', { name: 'crm.note', namespace: 'crm', custom: true }],
    ]));
    expect(() => translate({ input: 'x', tools: [{ type: 'namespace', tools: [{ type: 'function', name: 'f' }] }] })).toThrow(GatewayError);
  });
});
