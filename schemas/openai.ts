/**
 * The OpenAI-compatible API (/v1/*): the one definition of every wire shape. Requests are
 * lenient where clients are sloppy (unknown keys pass, content may be null, Ollama-only
 * knobs are accepted as extra fields) and strict where the gateway acts on a value.
 * Response and chunk schemas are used by the tests to check what the gateway sends (loose
 * enough to also accept OpenRouter's passthrough chunks); they never run on the hot path.
 */
import { z } from 'zod';

const JsonObject = z.record(z.string(), z.unknown());
const Stop = z.union([z.string(), z.array(z.string())]).nullish();

export const OpenAiContentPart = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  image_url: z.union([z.string(), z.looseObject({ url: z.string(), detail: z.string().nullish() })]).optional(),
});

export const OpenAiRequestToolCall = z.looseObject({
  id: z.string().nullish(),
  type: z.string().nullish(),
  index: z.number().int().nullish(),
  function: z.looseObject({
    name: z.string(),
    /** A JSON string in OpenAI's dialect; some clients send the object itself. */
    arguments: z.union([z.string(), JsonObject]).nullish(),
  }),
});

export const OpenAiMessage = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(OpenAiContentPart)]).nullish(),
  name: z.string().nullish(),
  tool_calls: z.array(OpenAiRequestToolCall).nullish(),
  tool_call_id: z.string().nullish(),
  reasoning: z.string().nullish(),
  reasoning_content: z.string().nullish(),
});
export type OpenAiMessage = z.infer<typeof OpenAiMessage>;

export const OpenAiTool = z.looseObject({
  type: z.string().optional(),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.unknown().optional(),
    strict: z.boolean().nullish(),
  }),
});

export const OpenAiResponseFormat = z.looseObject({
  type: z.enum(['text', 'json_object', 'json_schema']),
  json_schema: z
    .looseObject({ name: z.string().nullish(), schema: z.unknown().optional(), strict: z.boolean().nullish() })
    .nullish(),
});

export const OpenAiReasoning = z.looseObject({
  effort: z.string().nullish(),
  enabled: z.boolean().nullish(),
  max_tokens: z.number().nullish(),
  exclude: z.boolean().nullish(),
});

export const OpenAiStreamOptions = z.looseObject({ include_usage: z.boolean().nullish() });

/** Sampling fields shared by chat and legacy completions (no defaults are injected). */
const samplingFields = {
  max_tokens: z.number().int().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  top_k: z.number().nullish(),
  min_p: z.number().nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().nullish(),
  presence_penalty: z.number().nullish(),
  repetition_penalty: z.number().nullish(),
  stop: Stop,
};

/** Knobs Ollama clients send to /v1 too; accepted, never forwarded raw. */
const ollamaKnobs = {
  think: z.union([z.boolean(), z.string()]).nullish(),
  keep_alive: z.union([z.number(), z.string()]).nullish(),
  num_ctx: z.number().nullish(),
  options: JsonObject.nullish(),
};

export const OpenAiChatRequest = z.looseObject({
  model: z.string().optional(),
  messages: z.array(OpenAiMessage).nullish(),
  stream: z.boolean().nullish(),
  stream_options: OpenAiStreamOptions.nullish(),
  max_completion_tokens: z.number().int().nullish(),
  ...samplingFields,
  tools: z.array(OpenAiTool).nullish(),
  tool_choice: z.unknown().optional(),
  response_format: OpenAiResponseFormat.nullish(),
  reasoning_effort: z.string().nullish(),
  reasoning: OpenAiReasoning.nullish(),
  ...ollamaKnobs,
});
export type OpenAiChatRequest = z.infer<typeof OpenAiChatRequest>;

export const OpenAiCompletionRequest = z.looseObject({
  model: z.string().optional(),
  /** A string (Ollama's rule); a one-element string array is accepted too (LangChain batches). */
  prompt: z.union([z.string(), z.array(z.string())]).nullish(),
  suffix: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: OpenAiStreamOptions.nullish(),
  ...samplingFields,
  ...ollamaKnobs,
});
export type OpenAiCompletionRequest = z.infer<typeof OpenAiCompletionRequest>;

export const OpenAiEmbeddingsRequest = z.looseObject({
  model: z.string().optional(),
  input: z.unknown().optional(),
  dimensions: z.number().int().positive().nullish(),
  encoding_format: z.string().nullish(),
  keep_alive: ollamaKnobs.keep_alive,
  options: ollamaKnobs.options,
});
export type OpenAiEmbeddingsRequest = z.infer<typeof OpenAiEmbeddingsRequest>;

// ---- Responses (checked in tests) ----------------------------------------------------

export const OpenAiErrorResponse = z.strictObject({
  error: z.strictObject({
    message: z.string().min(1),
    type: z.string().min(1),
    param: z.string().nullable(),
    code: z.string().nullable(),
  }),
});

export const OpenAiUsage = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
});

export const OpenAiResponseToolCall = z.looseObject({
  id: z.string().min(1),
  index: z.number().int().nonnegative().optional(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const FinishReason = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call', 'error']);

export const OpenAiChatCompletion = z.looseObject({
  id: z.string().min(1),
  object: z.literal('chat.completion'),
  created: z.number().int().positive(),
  model: z.string().min(1),
  system_fingerprint: z.string().nullish(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      message: z.looseObject({
        role: z.literal('assistant'),
        content: z.string().nullable(),
        reasoning: z.string().nullish(),
        reasoning_content: z.string().nullish(),
        tool_calls: z.array(OpenAiResponseToolCall).nullish(),
      }),
      finish_reason: FinishReason.nullable(),
    }),
  ).length(1),
  usage: OpenAiUsage.optional(),
});

/** Tool calls in a chunk are fragments in OpenAI's dialect (only `index` is required). */
const ChunkToolCall = z.looseObject({
  index: z.number().int().nonnegative(),
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
});

export const OpenAiChatCompletionChunk = z.looseObject({
  id: z.string().min(1),
  object: z.literal('chat.completion.chunk'),
  created: z.number().int().positive(),
  model: z.string().min(1),
  system_fingerprint: z.string().nullish(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      delta: z.looseObject({
        role: z.literal('assistant').optional(),
        content: z.string().nullish(),
        reasoning: z.string().nullish(),
        reasoning_content: z.string().nullish(),
        tool_calls: z.array(ChunkToolCall).optional(),
      }),
      finish_reason: FinishReason.nullable(),
    }),
  ),
  usage: OpenAiUsage.nullish(),
});

export const OpenAiCompletion = z.looseObject({
  id: z.string().startsWith('cmpl-'),
  object: z.literal('text_completion'),
  created: z.number().int().positive(),
  model: z.string().min(1),
  system_fingerprint: z.string().nullish(),
  choices: z.array(
    z.looseObject({ text: z.string(), index: z.number().int(), finish_reason: FinishReason.nullable(), logprobs: z.null().optional() }),
  ),
  usage: OpenAiUsage.nullish(),
});

export const OpenAiModel = z.strictObject({
  id: z.string().min(1),
  object: z.literal('model'),
  created: z.number().int().nonnegative(),
  owned_by: z.string().min(1),
});

export const OpenAiModelList = z.strictObject({ object: z.literal('list'), data: z.array(OpenAiModel) });

export const OpenAiEmbeddingsResponse = z.strictObject({
  object: z.literal('list'),
  data: z.array(
    z.strictObject({
      object: z.literal('embedding'),
      embedding: z.union([z.array(z.number()), z.string()]),
      index: z.number().int().nonnegative(),
    }),
  ),
  model: z.string().min(1),
  usage: z.strictObject({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative() }),
});
