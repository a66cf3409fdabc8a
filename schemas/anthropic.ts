/**
 * The Anthropic Messages API (`POST /v1/messages`, `/v1/messages/count_tokens`): the one
 * definition of its request shape. Lenient where clients send more than the gateway uses
 * (unknown fields, unknown block types, `cache_control`, `metadata`), strict where it acts on
 * a value. Each block's own fields are checked where it is translated (frontends/anthropic).
 */
import { z } from 'zod';

/**
 * One content block. Only `type` is checked here: a block type the gateway does not know may
 * use any of these names for anything, so each known block's fields are checked where it is
 * translated (text, image `source`, tool_use `id`/`name`/`input`, tool_result
 * `tool_use_id`/`content`, thinking).
 */
export const AnthropicBlock = z.looseObject({ type: z.string() });
export type AnthropicBlock = z.infer<typeof AnthropicBlock>;

export const AnthropicMessage = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(AnthropicBlock)]),
});
export type AnthropicMessage = z.infer<typeof AnthropicMessage>;

/** A tool the client runs (`custom`, or no type); server tools (`web_search_…`) have a `type` and no `input_schema`. */
export const AnthropicTool = z.looseObject({
  type: z.string().nullish(),
  name: z.string().min(1),
  description: z.string().nullish(),
  input_schema: z.unknown().optional(),
});

export const AnthropicToolChoice = z.looseObject({
  type: z.enum(['auto', 'any', 'tool', 'none']),
  name: z.string().nullish(),
  disable_parallel_tool_use: z.boolean().nullish(),
});

export const AnthropicThinking = z.looseObject({
  type: z.string(),
  budget_tokens: z.number().int().nullish(),
});

const System = z.union([z.string(), z.array(AnthropicBlock)]).nullish();

/** What count_tokens reads: the prompt, without the sampling knobs. */
export const AnthropicCountTokensRequest = z.looseObject({
  model: z.string().optional(),
  messages: z.array(AnthropicMessage).optional(),
  system: System,
  tools: z.array(AnthropicTool).nullish(),
});
export type AnthropicCountTokensRequest = z.infer<typeof AnthropicCountTokensRequest>;

export const AnthropicMessagesRequest = z.looseObject({
  model: z.string().optional(),
  max_tokens: z.number().int().optional(),
  messages: z.array(AnthropicMessage).optional(),
  system: System,
  stream: z.boolean().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  tools: z.array(AnthropicTool).nullish(),
  tool_choice: AnthropicToolChoice.nullish(),
  thinking: AnthropicThinking.nullish(),
  /** Ollama's: an effort level when `thinking` is absent. */
  output_config: z.looseObject({ effort: z.string().nullish() }).nullish(),
  metadata: z.unknown().optional(),
});
export type AnthropicMessagesRequest = z.infer<typeof AnthropicMessagesRequest>;
