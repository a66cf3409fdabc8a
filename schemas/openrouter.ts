/**
 * The upstream shapes ollama-bridge reads from OpenRouter. Loose on purpose (OpenRouter adds
 * fields all the time and relays drop some): applied to non-stream JSON and to test
 * fixtures, never per stream chunk.
 */
import { z } from 'zod';

export const OpenRouterModel = z.looseObject({
  id: z.string(),
  name: z.string().nullish(),
  created: z.number().nullish(),
  description: z.string().nullish(),
  context_length: z.number().nullish(),
  architecture: z
    .looseObject({
      modality: z.string().nullish(),
      input_modalities: z.array(z.string()).nullish(),
      output_modalities: z.array(z.string()).nullish(),
      tokenizer: z.string().nullish(),
    })
    .nullish(),
  top_provider: z.looseObject({ context_length: z.number().nullish(), max_completion_tokens: z.number().nullish() }).nullish(),
  supported_parameters: z.array(z.string()).nullish(),
  pricing: z.record(z.string(), z.unknown()).nullish(),
  hugging_face_id: z.string().nullish(),
});
export type OpenRouterModel = z.infer<typeof OpenRouterModel>;

export const OpenRouterModelList = z.looseObject({ data: z.array(z.unknown()) });

export const OpenRouterEmbeddingResponse = z.looseObject({
  data: z.array(z.looseObject({ embedding: z.array(z.number()), index: z.number().nullish() })),
  model: z.string().nullish(),
  usage: z.looseObject({ prompt_tokens: z.number().nullish(), total_tokens: z.number().nullish(), cost: z.number().nullish() }).nullish(),
});

/** A stream chunk, for checking fixtures and fakes in tests (the decoder never validates). */
export const OpenRouterStreamChunk = z.looseObject({
  id: z.string().optional(),
  object: z.string().optional(),
  choices: z.array(
    z.looseObject({
      index: z.number().optional(),
      delta: z.looseObject({}).nullish(),
      finish_reason: z.string().nullish(),
    }),
  ).optional(),
  usage: z.looseObject({}).nullish(),
  error: z.unknown().optional(),
});
