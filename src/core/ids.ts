import { randomBytes } from 'node:crypto';

/** Ollama's and OpenAI's ids, and the non-secret id of a client key. */
export const LOWERCASE_ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** The secret part of a client key. */
export const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * `length` characters drawn uniformly from `alphabet` (at most 256 characters), from the
 * system's CSPRNG, so ids and secrets come from the same function. A byte that would favour
 * the first characters (one of the last `256 % alphabet.length` values) is drawn again.
 */
export function randomString(length: number, alphabet: string = LOWERCASE_ALPHANUMERIC): string {
  const usable = 256 - (256 % alphabet.length);
  let result = '';
  while (result.length < length) {
    const bytes = randomBytes((length - result.length) * 2);
    for (let index = 0; index < bytes.length && result.length < length; index++) {
      const byte = bytes[index]!;
      if (byte < usable) result += alphabet[byte % alphabet.length];
    }
  }
  return result;
}

/** Ollama's tool-call id format: `call_` + 8 lowercase alphanumerics. */
export function createToolCallId(): string {
  return `call_${randomString(8)}`;
}
