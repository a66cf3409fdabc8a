import { describe, expect, it } from 'vitest';
import { familyOf } from '../../src/adapters/openrouter/models.js';

describe('familyOf', () => {
  it.each([
    ['google/gemma-3-27b-it', 'Gemini', 'gemma3'],
    ['google/gemma-3n-e4b-it', 'Gemini', 'gemma3n'],
    ['google/gemma-2-9b-it:free', 'Gemini', 'gemma2'],
    ['google/gemini-2.5-flash', 'Gemini', 'gemini'],
    ['meta-llama/llama-3.3-70b-instruct', 'Llama3', 'llama'],
    ['meta-llama/llama-4-maverick', 'Llama4', 'llama4'],
    ['nvidia/llama-3.1-nemotron-70b-instruct', 'Llama3', 'llama'],
    ['qwen/qwen3-coder', 'Qwen3', 'qwen3'],
    ['qwen/qwen-2.5-72b-instruct', 'Qwen', 'qwen2'],
    ['qwen/qwq-32b', 'Qwen', 'qwen2'],
    ['deepseek/deepseek-r1-distill-llama-70b', 'Llama3', 'llama'],
    ['deepseek/deepseek-chat-v3:free', 'DeepSeek', 'deepseek2'],
    ['openai/gpt-oss-120b', 'GPT', 'gptoss'],
    ['openai/gpt-4o', 'GPT', 'gpt'],
    ['anthropic/claude-sonnet-4.5', 'Claude', 'claude'],
    ['microsoft/phi-4', 'Other', 'phi3'],
    ['mistralai/mistral-small', 'Mistral', 'mistral'],
    // A fine-tune with an unknown name: its tokenizer says what it is built on.
    ['thedrummer/rocinante-12b', 'Mistral', 'mistral'],
    ['someone/custom-model', 'Other', 'someone'],
    ['openrouter/auto', 'Router', 'openrouter'],
  ])('%s (tokenizer %s) is %s', (id, tokenizer, family) => {
    expect(familyOf({ id, architecture: { tokenizer } })).toBe(family);
  });
});
