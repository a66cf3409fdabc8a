/**
 * Runs the production stream writer (writeEncodedStream) over a list of batches into memory:
 * the pieces it writes, in order, as the client's socket would receive them.
 */
import type { ChatEventBatch } from '../../src/core/types.js';
import { writeEncodedStream, type StreamEncoder } from '../../src/streaming/encode-stream.js';

export async function encodePieces(batches: ChatEventBatch[], encoder: StreamEncoder, rest?: AsyncIterator<ChatEventBatch>): Promise<string[]> {
  const [first, ...others] = batches;
  const pieces: string[] = [];
  let ended = false;
  async function* restOf(): AsyncGenerator<ChatEventBatch> {
    yield* others;
  }
  await writeEncodedStream(
    {
      closed: false,
      write: (text) => {
        if (ended) throw new Error('written after end');
        pieces.push(text);
        return true;
      },
      drained: async () => undefined,
      end: (text) => {
        if (ended) throw new Error('ended twice');
        if (text !== '') pieces.push(text);
        ended = true;
      },
    },
    first ?? [],
    rest ?? restOf(),
    encoder,
  );
  if (!ended) throw new Error('the writer did not end the stream');
  return pieces;
}
