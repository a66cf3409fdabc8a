/**
 * Ways to cut a recorded stream into network reads: one byte at a time, at every
 * single boundary (two reads), and seeded random cuts.
 */
export function byteAtATime(bytes: Buffer): Buffer[] {
  return [...bytes].map((byte) => Buffer.from([byte]));
}

/** Every two-piece cut: [0,i) + [i,n) for i in 1..n-1. */
export function* everyBoundary(bytes: Buffer): Generator<Buffer[]> {
  for (let cut = 1; cut < bytes.length; cut++) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
}

export function seededCuts(bytes: Buffer, seed: number, maxPiece = 97): Buffer[] {
  let state = seed >>> 0 || 1;
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const size = 1 + (state % maxPiece);
    pieces.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

export async function* fromPieces(pieces: Buffer[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield piece;
}
