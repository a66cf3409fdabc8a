/**
 * Ollama's option vocabulary → the internal sampling settings. It is the format of request
 * `options` and of the per-model overrides in the models config (`think` is core/reasoning.ts's).
 * Pure.
 */
import { GatewayError } from '../errors.js';
import type { SamplingOptions } from './types.js';

/** Ollama `options` with an OpenRouter meaning; unknown ones are ignored, never an error. */
export function samplingFromOptions(options: Record<string, unknown> | undefined): SamplingOptions {
  const sampling: SamplingOptions = {};
  if (options === undefined) return sampling;
  const number = (key: string): number | undefined => {
    const value = options[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new GatewayError('BAD_REQUEST', `option "${key}" must be of type number`);
    }
    return value;
  };
  const assign = <K extends keyof SamplingOptions>(target: K, value: SamplingOptions[K] | undefined): void => {
    if (value !== undefined) sampling[target] = value;
  };
  assign('temperature', number('temperature'));
  assign('topP', number('top_p'));
  assign('topK', number('top_k'));
  assign('minP', number('min_p'));
  assign('seed', number('seed'));
  assign('repetitionPenalty', number('repeat_penalty'));
  assign('presencePenalty', number('presence_penalty'));
  assign('frequencyPenalty', number('frequency_penalty'));
  const maxTokens = number('num_predict');
  // Negative means "until a stop condition" in Ollama; OpenRouter must then get no max_tokens.
  if (maxTokens !== undefined && maxTokens > 0) sampling.maxOutputTokens = Math.floor(maxTokens);
  const stop = options.stop;
  if (stop !== undefined && stop !== null) {
    if (typeof stop === 'string') sampling.stop = [stop];
    else if (Array.isArray(stop) && stop.every((item) => typeof item === 'string')) sampling.stop = stop;
    else throw new GatewayError('BAD_REQUEST', 'option "stop" must be of type array');
  }
  return sampling;
}
