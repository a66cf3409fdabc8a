/**
 * Ollama's native API (/api/*): the one definition of every wire shape. Requests are
 * lenient where clients are sloppy (unknown keys and options pass; `content` may be
 * missing) and strict where the gateway acts on a value. Response schemas are used by the
 * tests to check every line the gateway sends; they are never run on the hot path.
 */
import { z } from 'zod';

const JsonObject = z.record(z.string(), z.unknown());

export const OllamaToolCall = z.looseObject({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.looseObject({
    index: z.number().int().optional(),
    name: z.string(),
    arguments: z.union([JsonObject, z.string()]).optional(),
  }),
});

export const OllamaMessage = z.looseObject({
  role: z.string().transform((role) => role.toLowerCase()).pipe(z.enum(['system', 'user', 'assistant', 'tool'])),
  content: z.string().nullish(),
  thinking: z.string().nullish(),
  images: z.array(z.string()).nullish(),
  tool_calls: z.array(OllamaToolCall).nullish(),
  tool_name: z.string().nullish(),
  tool_call_id: z.string().nullish(),
});
export type OllamaMessage = z.infer<typeof OllamaMessage>;

export const OllamaTool = z.looseObject({
  type: z.string().optional(),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.unknown().optional(),
  }),
});

/** `think`: a boolean or a level. Anything else is answered the way Ollama words it. */
export const OllamaThink = z.union([z.boolean(), z.string()]).nullish();

/** `keep_alive`: seconds as a number, or a Go duration string. */
export const OllamaKeepAlive = z.union([z.number(), z.string()]).nullish();

/** `format`: "json", a JSON schema object, or ""/null for none. */
export const OllamaFormat = z.union([z.string(), JsonObject]).nullish();

const commonGenerationFields = {
  model: z.string().optional(),
  stream: z.boolean().nullish(),
  format: OllamaFormat,
  options: JsonObject.nullish(),
  keep_alive: OllamaKeepAlive,
  think: OllamaThink,
  logprobs: z.boolean().nullish(),
  /** 0–20, checked where Ollama checks it (with its words). */
  top_logprobs: z.number().int().nullish(),
};

export const OllamaChatRequest = z.looseObject({
  ...commonGenerationFields,
  messages: z.array(OllamaMessage).nullish(),
  tools: z.array(OllamaTool).nullish(),
});
export type OllamaChatRequest = z.infer<typeof OllamaChatRequest>;

export const OllamaGenerateRequest = z.looseObject({
  ...commonGenerationFields,
  prompt: z.string().nullish(),
  system: z.string().nullish(),
  suffix: z.string().nullish(),
  template: z.string().nullish(),
  raw: z.boolean().nullish(),
  images: z.array(z.string()).nullish(),
  context: z.array(z.number()).nullish(),
});
export type OllamaGenerateRequest = z.infer<typeof OllamaGenerateRequest>;

export const OllamaShowRequest = z.looseObject({
  model: z.string().optional(),
  name: z.string().optional(),
  verbose: z.boolean().nullish(),
});

export const OllamaEmbedRequest = z.looseObject({
  model: z.string().optional(),
  input: z.unknown().optional(),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().positive().nullish(),
  keep_alive: OllamaKeepAlive,
  options: JsonObject.nullish(),
});

export const OllamaEmbeddingsRequest = z.looseObject({
  model: z.string().optional(),
  prompt: z.string().nullish(),
  keep_alive: OllamaKeepAlive,
  options: JsonObject.nullish(),
});

// ---- Responses (checked in tests) ----------------------------------------------------

/** RFC 3339 with a fractional part, as OllamaKit/Enchanted require. */
const Timestamp = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})$/);
const Nanoseconds = z.number().int().positive();

const Metrics = {
  total_duration: Nanoseconds.optional(),
  load_duration: Nanoseconds.optional(),
  prompt_eval_count: z.number().int().positive().optional(),
  prompt_eval_duration: Nanoseconds.optional(),
  eval_count: z.number().int().positive().optional(),
  eval_duration: Nanoseconds.optional(),
};

export const OllamaResponseToolCall = z.strictObject({
  id: z.string().optional(),
  function: z.strictObject({ index: z.number().int(), name: z.string(), arguments: JsonObject }),
});

const tokenLogprobFields = { token: z.string(), logprob: z.number(), bytes: z.array(z.number().int()).optional() };

/** One answer token's entry in `logprobs` (asked with `logprobs: true`; alternatives with `top_logprobs`). */
export const OllamaLogprob = z.strictObject({ ...tokenLogprobFields, top_logprobs: z.array(z.strictObject(tokenLogprobFields)).optional() });

export const OllamaChatResponse = z.strictObject({
  model: z.string(),
  created_at: Timestamp,
  message: z.strictObject({
    role: z.literal('assistant'),
    content: z.string(),
    thinking: z.string().optional(),
    tool_calls: z.array(OllamaResponseToolCall).optional(),
  }),
  done: z.boolean(),
  done_reason: z.enum(['stop', 'length', 'load', 'unload']).optional(),
  logprobs: z.array(OllamaLogprob).optional(),
  ...Metrics,
});

export const OllamaGenerateResponse = z.strictObject({
  model: z.string(),
  created_at: Timestamp,
  response: z.string(),
  thinking: z.string().optional(),
  done: z.boolean(),
  done_reason: z.enum(['stop', 'length', 'load', 'unload']).optional(),
  /** Final object only: Ollama's token ids; here an encoding of the conversation (generate-context.ts). */
  context: z.array(z.number().int()).optional(),
  logprobs: z.array(OllamaLogprob).optional(),
  ...Metrics,
});

export const OllamaErrorResponse = z.strictObject({ error: z.string().min(1) });

export const OllamaModelDetails = z.strictObject({
  parent_model: z.string(),
  format: z.string(),
  family: z.string(),
  families: z.array(z.string()),
  parameter_size: z.string(),
  quantization_level: z.string(),
  context_length: z.number().int().positive().optional(),
});

export const OllamaListedModel = z.strictObject({
  name: z.string(),
  model: z.string(),
  modified_at: Timestamp,
  size: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  details: OllamaModelDetails,
  capabilities: z.array(z.string()).optional(),
});

export const OllamaTagsResponse = z.strictObject({ models: z.array(OllamaListedModel) });

export const OllamaShowResponse = z.strictObject({
  license: z.string(),
  modelfile: z.string(),
  parameters: z.string(),
  template: z.string(),
  details: OllamaModelDetails,
  model_info: JsonObject,
  capabilities: z.array(z.enum(['completion', 'tools', 'vision', 'thinking', 'embedding', 'insert'])).min(1),
  modified_at: Timestamp,
});

export const OllamaRunningModel = z.strictObject({
  name: z.string(),
  model: z.string(),
  size: z.number().int().nonnegative(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  details: OllamaModelDetails,
  expires_at: Timestamp,
  size_vram: z.number().int().nonnegative(),
  context_length: z.number().int().nonnegative(),
});

export const OllamaPsResponse = z.strictObject({ models: z.array(OllamaRunningModel) });

export const OllamaEmbedResponse = z.strictObject({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
  total_duration: Nanoseconds.optional(),
  load_duration: Nanoseconds.optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
});
