import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random lowercase alphanumerics (biased-free enough for ids; not for secrets). */
export function randomAlphanumeric(length: number): string {
  const bytes = randomBytes(length);
  let result = '';
  for (let index = 0; index < length; index++) result += ALPHABET[bytes[index]! % ALPHABET.length];
  return result;
}

/** Ollama's tool-call id format: `call_` + 8 lowercase alphanumerics. */
export function createToolCallId(): string {
  return `call_${randomAlphanumeric(8)}`;
}
