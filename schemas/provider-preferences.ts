/**
 * OpenRouter's provider routing object (`provider`), as the models config may set it, per
 * model or as a default: the fields checked, an unknown field refused (OpenRouter's
 * ProviderPreferences allows none). What passes is sent to OpenRouter unchanged.
 */
import { z } from 'zod';

const providerSlugs = z.array(z.string().min(1));
/** USD per million tokens; OpenRouter takes numbers or numeric strings. */
const usd = z.union([z.number().min(0), z.string().regex(/^\d+(\.\d+)?$/, 'a number of USD')]);

export const ProviderPreferences = z.strictObject({
  order: providerSlugs.optional(),
  only: providerSlugs.optional(),
  ignore: providerSlugs.optional(),
  sort: z.enum(['price', 'throughput', 'latency']).optional(),
  max_price: z.strictObject({ prompt: usd.optional(), completion: usd.optional(), image: usd.optional(), audio: usd.optional(), request: usd.optional() }).optional(),
  data_collection: z.enum(['allow', 'deny']).optional(),
  zdr: z.boolean().optional(),
  allow_fallbacks: z.boolean().optional(),
  require_parameters: z.boolean().optional(),
});
export type ProviderPreferences = z.infer<typeof ProviderPreferences>;
