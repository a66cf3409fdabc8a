/**
 * The OpenAI Responses API (`POST /v1/responses`), stateless as Ollama and OpenRouter serve
 * it: the one definition of its request shape. Lenient where clients send more than the
 * gateway uses (unknown fields, `include`, `metadata`, `parallel_tool_calls`…), strict where
 * it acts on a value. Each input item's own fields are checked where it is translated
 * (frontends/responses/translate.ts).
 */
import { z } from 'zod';

/** One input item (a message, `function_call`, `function_call_output`, `reasoning`…); only its shape as an object is checked here. */
export const ResponsesInputItem = z.looseObject({ type: z.string().nullish(), role: z.string().nullish() });
export type ResponsesInputItem = z.infer<typeof ResponsesInputItem>;

/** A function or custom tool of a `namespace` tool. */
export const ResponsesNamespaceMember = z.looseObject({
  type: z.string(),
  name: z.string().nullish(),
  description: z.string().nullish(),
  parameters: z.unknown().optional(),
  strict: z.boolean().nullish(),
});
export type ResponsesNamespaceMember = z.infer<typeof ResponsesNamespaceMember>;

export const ResponsesTool = ResponsesNamespaceMember.extend({
  /** A `namespace` tool's members. */
  tools: z.array(ResponsesNamespaceMember).nullish(),
});
export type ResponsesTool = z.infer<typeof ResponsesTool>;

export const ResponsesTextFormat = z.looseObject({
  type: z.string(),
  name: z.string().nullish(),
  schema: z.unknown().optional(),
  strict: z.boolean().nullish(),
});

export const ResponsesRequest = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(ResponsesInputItem)]).optional(),
  instructions: z.string().nullish(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  max_output_tokens: z.number().int().nullish(),
  tools: z.array(ResponsesTool).nullish(),
  tool_choice: z.union([z.string(), z.looseObject({ type: z.string(), name: z.string().nullish(), namespace: z.string().nullish() })]).nullish(),
  text: z.looseObject({ format: ResponsesTextFormat.nullish() }).nullish(),
  reasoning: z.looseObject({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
  /** What the answer should carry besides the defaults; `reasoning.encrypted_content` is acted on. */
  include: z.array(z.string()).nullish(),
});
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;
