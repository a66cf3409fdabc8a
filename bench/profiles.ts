/**
 * Stream profiles shared by the fakes and the harness. A profile is named in the model id
 * (`bench/c256-s16-p0` = 256 content chunks of 16 characters, 0 ms apart), so one fake
 * serves every phase and the gateway forwards the choice unchanged.
 */

export interface StreamProfile {
  /** Content chunks in one answer. */
  chunks: number;
  /** Characters of text per content chunk. */
  chunkChars: number;
  /** Milliseconds between chunks; 0 = as fast as the socket takes them. */
  paceMs: number;
}

export const DEFAULT_PROFILE: StreamProfile = { chunks: 256, chunkChars: 16, paceMs: 0 };

export function profileName(profile: StreamProfile): string {
  return `c${profile.chunks}-s${profile.chunkChars}-p${profile.paceMs}`;
}

/** The fake Ollama's name for a profile's model. */
export function ollamaModelName(profile: StreamProfile): string {
  return `bench-${profileName(profile)}:latest`;
}

/** The profile a model name asks for, or the fallback. */
export function profileOf(model: string, fallback: StreamProfile = DEFAULT_PROFILE): StreamProfile {
  const match = /c(\d+)-s(\d+)-p(\d+)/.exec(model);
  if (!match) return fallback;
  return { chunks: Number(match[1]), chunkChars: Number(match[2]), paceMs: Number(match[3]) };
}

export function parseProfile(text: string): StreamProfile {
  const profile = profileOf(text, { chunks: -1, chunkChars: -1, paceMs: -1 });
  if (profile.chunks < 0) throw new Error(`not a stream profile: ${text} (expected cN-sN-pN)`);
  return profile;
}

const WORDS = ['the ', 'quick ', 'model ', 'streams ', 'tokens ', 'over ', 'a ', 'gateway ', 'to ', 'every ', 'client, ', 'fast. '];

/**
 * Text of chunk `index`, `chars` characters long: mostly ASCII words, with a newline every
 * 16th chunk and a quote and a non-ASCII character now and then (JSON escaping, UTF-8).
 */
export function chunkText(index: number, chars: number): string {
  let text = '';
  let word = index;
  while (text.length < chars) text += WORDS[word++ % WORDS.length];
  text = text.slice(0, chars);
  if (chars >= 4) {
    if (index % 16 === 15) text = `${text.slice(0, -1)}\n`;
    else if (index % 25 === 24) text = `"${text.slice(1)}`;
    else if (index % 50 === 49) text = `${text.slice(0, -1)}é`;
  }
  return text;
}

const VENDORS = ['openai', 'anthropic', 'google', 'meta-llama', 'mistralai', 'qwen', 'deepseek', 'x-ai', 'cohere', 'nvidia', 'microsoft', 'amazon'];
const TOKENIZERS = ['GPT', 'Claude', 'Gemini', 'Llama3', 'Mistral', 'Qwen', 'DeepSeek', 'Grok', 'Cohere', 'Other'];
const SIZES = ['7b', '8b', '70b', '1.5b', '405b', '8x7b', '32b', 'mini', 'pro', 'flash'];

/** One OpenRouter /models entry, shaped like the real ones (fields the gateway ignores included). */
function catalogEntry(id: string, index: number, outputs: string[]): Record<string, unknown> {
  const vision = index % 3 === 0;
  const tools = index % 2 === 0;
  const reasoning = index % 5 === 0;
  const supported = ['max_tokens', 'temperature', 'top_p', 'stop', 'frequency_penalty', 'presence_penalty', 'seed', 'response_format'];
  if (tools) supported.push('tools', 'tool_choice');
  if (reasoning) supported.push('reasoning', 'include_reasoning');
  return {
    id,
    canonical_slug: `${id}-20250101`,
    hugging_face_id: '',
    name: `${id.split('/')[0]}: Model ${index}`,
    created: 1_700_000_000 + index * 3_600,
    description: `Model ${index} is a fake catalog entry for the ollama-bridge bench. It is about as long as a real description, which runs to a few sentences about context length, strengths and pricing.`,
    context_length: [8_192, 32_768, 131_072, 200_000, 1_048_576][index % 5],
    architecture: {
      modality: vision ? 'text+image->text' : 'text->text',
      input_modalities: vision ? ['text', 'image'] : ['text'],
      output_modalities: outputs,
      tokenizer: TOKENIZERS[index % TOKENIZERS.length],
      instruct_type: null,
    },
    pricing: { prompt: '0.000001', completion: '0.000002', request: '0', image: '0', web_search: '0', internal_reasoning: '0' },
    top_provider: { context_length: 131_072, max_completion_tokens: 16_384, is_moderated: false },
    per_request_limits: null,
    supported_parameters: supported,
    default_parameters: { temperature: null, top_p: null, frequency_penalty: null },
  };
}

/** The chat catalog: `count` filler models plus one `bench/<profile>` model per profile. */
export function chatCatalog(count: number, profiles: readonly StreamProfile[]): Array<Record<string, unknown>> {
  const models: Array<Record<string, unknown>> = [];
  for (let index = 0; index < count; index++) {
    const vendor = VENDORS[index % VENDORS.length]!;
    models.push(catalogEntry(`${vendor}/model-${index}-${SIZES[index % SIZES.length]}`, index, ['text']));
  }
  profiles.forEach((profile, index) => models.push(catalogEntry(`bench/${profileName(profile)}`, count + index, ['text'])));
  return models;
}

export function embeddingCatalog(): Array<Record<string, unknown>> {
  return [0, 1, 2, 3].map((index) => catalogEntry(`${VENDORS[index]}/embed-${index}`, 10_000 + index, ['embeddings']));
}
