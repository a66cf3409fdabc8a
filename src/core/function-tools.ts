/**
 * Tools as every dialect here writes them, OpenAI's `{"type":"function","function":{name,
 * description, parameters}}` (Ollama and OpenRouter copied it), to and from the IR. Pure.
 */
import type { ToolDefinition } from './types.js';

/** What both front ends' schemas accept for one tool. */
export interface FunctionToolInput {
  function: { name: string; description?: string | null | undefined; parameters?: unknown; strict?: boolean | null | undefined };
}

/** A request's tools in the IR; none (or an empty list) is undefined. */
export function fromFunctionTools(tools: readonly FunctionToolInput[] | null | undefined): ToolDefinition[] | undefined {
  if (tools === undefined || tools === null || tools.length === 0) return undefined;
  return tools.map((tool) => {
    const definition: ToolDefinition = { name: tool.function.name };
    if (tool.function.description) definition.description = tool.function.description;
    if (tool.function.parameters !== undefined) definition.parameters = tool.function.parameters;
    if (typeof tool.function.strict === 'boolean') definition.strict = tool.function.strict;
    return definition;
  });
}

/**
 * The IR's tools on the wire. The client's schema goes out untouched; an absent one becomes
 * the empty object schema (Ollama's templates would render a missing one as a zero-valued Go
 * struct, and OpenAI-style upstreams expect one). `strict` only where the upstream knows it
 * (OpenAI's dialect; Ollama has no such field).
 */
export function toFunctionTools(tools: readonly ToolDefinition[], options: { strict?: boolean } = {}): Array<Record<string, unknown>> {
  return tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters ?? { type: 'object', properties: {} },
      ...(options.strict === true && tool.strict !== undefined ? { strict: tool.strict } : {}),
    },
  }));
}
