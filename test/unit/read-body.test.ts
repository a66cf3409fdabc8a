/**
 * readBodyText: a whole non-stream answer as text, capped, from either kind of body.
 */
import { describe, expect, it } from 'vitest';
import { readBodyText } from '../../src/http/read-body.js';
import type { BodyPiece } from '../../src/core/body-piece.js';

function body(pieces: BodyPiece[], failure?: Error): AsyncIterable<BodyPiece> & { returned: boolean } {
  const state = {
    returned: false,
    [Symbol.asyncIterator]() {
      let index = 0;
      return {
        next: async (): Promise<IteratorResult<BodyPiece>> => {
          if (index < pieces.length) return { done: false, value: pieces[index++]! };
          if (failure) throw failure;
          return { done: true, value: undefined };
        },
        return: async (): Promise<IteratorResult<BodyPiece>> => {
          state.returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return state;
}

describe('readBodyText', () => {
  it('joins single chunks and the chunk arrays of one read, UTF-8 cut anywhere', async () => {
    const bytes = Buffer.from('{"text":"ça va 🌍"}');
    const text = await readBodyText(body([bytes.subarray(0, 10), [bytes.subarray(10, 12), bytes.subarray(12, 15)], bytes.subarray(15)]), 'Ollama');
    expect(text).toBe('{"text":"ça va 🌍"}');
  });

  it('refuses an answer past the cap, and gives the body up', async () => {
    const upstream = body([Buffer.alloc(6), Buffer.alloc(6)]);
    await expect(readBodyText(upstream, 'OpenRouter', 10)).rejects.toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', message: 'OpenRouter sent a response larger than 10 bytes' });
    expect(upstream.returned).toBe(true);
  });

  it('says the answer broke off when the body fails midway', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    await expect(readBodyText(body([Buffer.from('{"a"')], reset), 'Ollama')).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'Ollama broke off the answer midway: other side closed' });
  });
});
