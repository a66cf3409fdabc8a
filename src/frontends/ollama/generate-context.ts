/**
 * `/api/generate`'s `context`: a real Ollama returns the token ids of the exchange on the
 * final object, and clients (ollama-js and ollama-python examples, chat loops built on
 * generate) send it back with the next prompt to continue the conversation. A gateway has no
 * token ids for an OpenRouter model, so `context` here is an opaque, stateless encoding of the
 * conversation itself: a marker, then the Unicode code points of a JSON list of
 * `[role, text]` turns. Sent back unchanged, it becomes those turns again, before the new
 * prompt (a new `system` replaces the earlier one). Its length is a count of characters, not
 * of tokens. Anything else sent as `context` (another server's token ids, an edited list) is a
 * 400: there is no conversation to recover from it. Pure.
 */
import type { ChatMessage } from '../../core/types.js';
import { GatewayError } from '../../errors.js';

/** The first element of every context made here: "OBR1" in ASCII, inside a signed 32-bit int. */
export const CONTEXT_MARKER = 0x4f425231;

const ROLE_CODES = { system: 's', user: 'u', assistant: 'a' } as const;
const ROLES_BY_CODE = new Map<unknown, ChatMessage['role']>([['s', 'system'], ['u', 'user'], ['a', 'assistant']]);
/** Code points converted per String.fromCodePoint call (an argument list must stay small). */
const CHUNK = 8192;

/** The context for a conversation (system, earlier turns, the prompt) and the answer to it; text only. */
export function encodeGenerateContext(messages: readonly ChatMessage[], answer: string): number[] {
  const turns: Array<[string, string]> = [];
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'user' || message.role === 'assistant') turns.push([ROLE_CODES[message.role], message.content]);
  }
  turns.push(['a', answer]);
  const text = JSON.stringify(turns);
  const context = [CONTEXT_MARKER];
  for (const character of text) context.push(character.codePointAt(0)!);
  return context;
}

/** The turns a context made here stands for; throws 400 for any other list. */
export function decodeGenerateContext(context: readonly number[]): ChatMessage[] {
  if (context[0] !== CONTEXT_MARKER) throw notOurs();
  let text = '';
  for (let start = 1; start < context.length; start += CHUNK) {
    const chunk = context.slice(start, start + CHUNK);
    if (!chunk.every((value) => Number.isInteger(value) && value >= 0 && value <= 0x10ffff)) throw notOurs();
    text += String.fromCodePoint(...chunk);
  }
  let turns: unknown;
  try {
    turns = JSON.parse(text);
  } catch {
    throw notOurs();
  }
  if (!Array.isArray(turns)) throw notOurs();
  return turns.map((turn: unknown): ChatMessage => {
    const role = Array.isArray(turn) && turn.length === 2 && typeof turn[1] === 'string' ? ROLES_BY_CODE.get(turn[0]) : undefined;
    if (role === undefined) throw notOurs();
    return { role, content: (turn as [string, string])[1] };
  });
}

function notOurs(): GatewayError {
  return new GatewayError(
    'BAD_REQUEST',
    'context was not made by this server: ollama-bridge encodes the conversation in context, not token ids; send back the context of its last answer unchanged, or none',
  );
}
