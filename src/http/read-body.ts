/**
 * Reads a whole (non-stream) upstream answer into text, up to a size cap. Any body works: an
 * undici Readable (chunks) or an UpstreamBody (one array of chunks per read). Leaving early
 * (the cap, a failure) returns the body's iterator, which destroys or aborts it.
 */
import { fromMidStreamError, GatewayError } from '../errors.js';
import { joinPiece, type BodyPiece } from '../core/body-piece.js';

/** The largest JSON answer read into memory. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

export async function readBodyText(body: AsyncIterable<BodyPiece>, upstreamName: string, maxBytes = MAX_JSON_BYTES): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const piece of body) {
      const chunk = joinPiece(piece);
      size += chunk.byteLength;
      if (size > maxBytes) throw new GatewayError('UPSTREAM_BAD_RESPONSE', `${upstreamName} sent a response larger than ${maxBytes} bytes`);
      chunks.push(chunk);
    }
  } catch (error) {
    throw error instanceof GatewayError ? error : fromMidStreamError(upstreamName, error);
  }
  return Buffer.concat(chunks).toString('utf8');
}
