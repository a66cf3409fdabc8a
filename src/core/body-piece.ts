/** What an upstream body yields: one chunk, or every chunk of one network read. */
export type BodyPiece = Uint8Array | readonly Uint8Array[];

/**
 * One body piece as one buffer. The many small chunks of one read (undici hands over one per
 * HTTP chunk) cost one copy here, and then one pass of the decoder instead of one per chunk.
 */
export function joinPiece(piece: BodyPiece): Uint8Array {
  if (piece instanceof Uint8Array) return piece;
  return piece.length === 1 ? piece[0]! : Buffer.concat(piece);
}
