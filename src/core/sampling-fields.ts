/**
 * Where each sampling setting lives on the wire, per dialect: one table each, used by every
 * translator that writes sampling settings (the OpenRouter adapter, the OpenAI passthrough's
 * configured defaults, the Ollama adapter). Pure.
 */
import type { SamplingOptions } from './types.js';

export type SamplingFields = ReadonlyArray<readonly [keyof SamplingOptions, string]>;

/** OpenAI's (and OpenRouter's) body fields. */
export const OPENAI_SAMPLING_FIELDS: SamplingFields = [
  ['temperature', 'temperature'],
  ['topP', 'top_p'],
  ['topK', 'top_k'],
  ['minP', 'min_p'],
  ['seed', 'seed'],
  ['stop', 'stop'],
  ['maxOutputTokens', 'max_tokens'],
  ['repetitionPenalty', 'repetition_penalty'],
  ['presencePenalty', 'presence_penalty'],
  ['frequencyPenalty', 'frequency_penalty'],
];

/** Ollama's `options` keys. */
export const OLLAMA_OPTION_FIELDS: SamplingFields = [
  ['temperature', 'temperature'],
  ['topP', 'top_p'],
  ['topK', 'top_k'],
  ['minP', 'min_p'],
  ['seed', 'seed'],
  ['stop', 'stop'],
  ['maxOutputTokens', 'num_predict'],
  ['repetitionPenalty', 'repeat_penalty'],
  ['presencePenalty', 'presence_penalty'],
  ['frequencyPenalty', 'frequency_penalty'],
];

/** The settings that are set, under their wire names (an empty stop list is not sent). */
export function samplingToWire(sampling: SamplingOptions, fields: SamplingFields): Record<string, unknown> {
  const wire: Record<string, unknown> = {};
  for (const [key, name] of fields) {
    const value = sampling[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    wire[name] = value;
  }
  return wire;
}
