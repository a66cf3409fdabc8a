/**
 * Counts the bytes that `Buffer.concat` and `Buffer.from(<buffer>)` produce while `work`
 * runs: the copies a byte-stream parser makes, measured without a clock.
 */
import { vi } from 'vitest';

export function countCopiedBytes(work: () => void): number {
  let copied = 0;
  const concat = Buffer.concat.bind(Buffer);
  const from = Buffer.from.bind(Buffer) as (...args: unknown[]) => Buffer;
  const concatSpy = vi.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
    const joined = concat(list, totalLength);
    copied += joined.length;
    return joined;
  });
  const fromSpy = vi.spyOn(Buffer, 'from').mockImplementation(((...args: unknown[]) => {
    const made = from(...args);
    if (Buffer.isBuffer(args[0]) || args[0] instanceof Uint8Array) copied += made.length;
    return made;
  }) as typeof Buffer.from);
  try {
    work();
  } finally {
    concatSpy.mockRestore();
    fromSpy.mockRestore();
  }
  return copied;
}
