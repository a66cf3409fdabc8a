/**
 * The internal representation shared by every front end (Ollama /api/*, OpenAI /v1/*)
 * and every back end (OpenRouter, Ollama). Front ends translate into it, adapters
 * translate out of it: N + M translators instead of N × M.
 */
import type { GatewayError } from '../errors.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A complete tool call. `arguments` is JSON text (OpenAI's convention); Ollama front ends parse it once. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: Role;
  content: string;
  /** Image URLs: `data:<mime>;base64,...` (front ends normalise bare base64) or http(s) URLs. */
  images?: string[];
  /** Assistant reasoning carried in history. */
  reasoning?: string;
  /** Assistant: the upstream's reasoning details as it sent them, to go back unchanged (OpenRouter only). */
  reasoningDetails?: ReasoningDetail[];
  toolCalls?: ToolCall[];
  /** Role 'tool': the call this result answers. */
  toolCallId?: string;
  /** Role 'tool': the function's name. */
  toolName?: string;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** The client's JSON schema, forwarded untouched (never a lossy copy). */
  parameters?: unknown;
  /** OpenAI's `strict` (arguments must match the schema exactly), sent to OpenRouter as the client set it. */
  strict?: boolean;
}

/**
 * One item of the upstream's reasoning as OpenRouter's `reasoning_details` carry it
 * (`reasoning.text` with its `signature`, `reasoning.summary`, `reasoning.encrypted` with its
 * `data`; each with `format`, `index`, maybe `id`), kept whole: models such as Claude and
 * Gemini refuse a tool continuation unless it comes back unchanged.
 */
export interface ReasoningDetail {
  type: string;
  [field: string]: unknown;
}

export type ResponseFormat =
  | { type: 'json' }
  | { type: 'json-schema'; schema: unknown; name?: string; strict?: boolean };

export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max';

export interface ReasoningRequest {
  enabled: boolean;
  effort?: ReasoningEffort;
}

export interface SamplingOptions {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  stop?: string[];
  maxOutputTokens?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

/** One token's log probability (natural log); `bytes` are its UTF-8 bytes when the upstream says. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes?: number[];
}

/** A token of the answer with, when asked, the likeliest tokens at its place. */
export interface AnswerTokenLogprob extends TokenLogprob {
  topLogprobs?: TokenLogprob[];
}

export interface ChatRequest {
  /** The backend's own model id, already resolved by the model catalog. */
  model: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: unknown;
  responseFormat?: ResponseFormat;
  reasoning?: ReasoningRequest;
  sampling: SamplingOptions;
  /** Only the Ollama backend uses it. */
  keepAlive?: string | number;
  /** The answer's tokens' log probabilities, with `top` (0–20) alternatives each. */
  logprobs?: { top: number };
  /** OpenRouter's `provider` routing object from the models config, sent as it is (only the OpenRouter backend uses it). */
  provider?: Readonly<Record<string, unknown>>;
}

export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'other';

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  /** Of the output, the tokens spent reasoning (OpenAI's `completion_tokens_details.reasoning_tokens`). */
  reasoningTokens?: number;
  /** Of the input, the tokens read from the provider's prompt cache (`prompt_tokens_details.cached_tokens`). */
  cachedTokens?: number;
  /** Cost in USD as reported by the upstream (OpenRouter's `usage.cost`). */
  cost?: number;
}

/**
 * Who answered, as the upstream says it: told once per call (`CallContext.onOrigin`), as soon
 * as the upstream's first words name it, never per chunk.
 */
export interface AnswerOrigin {
  /** The model that answers, as the upstream names it (OpenRouter's `model`: another one when it fell back). */
  modelServed?: string;
  /** The upstream's id for the generation (OpenRouter's `gen-…`). */
  generationId?: string;
}

/** A model's price in USD per million tokens. */
export interface ModelPrice {
  prompt: number;
  completion: number;
}

/**
 * One event of a chat stream. Decoders emit exactly one `finish` or `error` last;
 * tool calls are complete when emitted.
 */
export type ChatEvent =
  | { type: 'text-delta'; text: string; logprobs?: AnswerTokenLogprob[] }
  | { type: 'reasoning-delta'; text: string }
  /** Complete reasoning details (their text, if any, came as reasoning deltas before). */
  | { type: 'reasoning-details'; details: ReasoningDetail[] }
  | { type: 'tool-call'; call: ToolCall; index: number }
  | { type: 'finish'; reason: FinishReason; usage?: Usage }
  | { type: 'error'; error: GatewayError };

/** All events decoded from one upstream network read. */
export type ChatEventBatch = ChatEvent[];

export type ChatStream = AsyncIterable<ChatEventBatch>;

export interface ChatResult {
  text: string;
  reasoning: string;
  /** The answer's reasoning details, in order, when the upstream sent any. */
  reasoningDetails?: ReasoningDetail[];
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage?: Usage;
  /** When asked for: every answer token's log probability, in order. */
  logprobs?: AnswerTokenLogprob[];
}

export interface EmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface EmbedResult {
  embeddings: number[][];
  usage?: Usage;
}

export type Capability = 'completion' | 'tools' | 'vision' | 'thinking' | 'embedding';

/** A model as a backend describes it. */
export interface ModelInfo {
  /** The backend's id, e.g. `openai/gpt-4o` or `deepseek/deepseek-chat-v3:free`. */
  id: string;
  /** Which backend serves it. */
  backend: string;
  displayName?: string;
  family?: string;
  parameterSize?: string;
  quantization?: string;
  contextLength?: number;
  /** Unix seconds. */
  createdAt?: number;
  capabilities: Capability[];
  description?: string;
  /** What the backend charges for it, when it says (OpenRouter's `pricing`). */
  price?: ModelPrice;
}
