/**
 * DecodedStream's first-event cut: until the stream's first event, a large read is decoded a
 * slice at a time and handed over as soon as a slice yields an event; the rest of the read
 * follows on the next pull, without another read of the body. The cut never changes what is
 * decoded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeOllamaStream } from '../../src/adapters/ollama/stream.js';
import { decodeOpenRouterStream } from '../../src/adapters/openrouter/stream.js';
import type { ChatEventBatch } from '../../src/core/types.js';
import type { BodyPiece } from '../../src/core/body-piece.js';
import { FIRST_EVENT_SLICE_BYTES, type DecodedStream } from '../../src/streaming/decode-stream.js';
import { byteAtATime, fromPieces } from '../helpers/chunking.js';
import { normalizeEvents } from '../helpers/events.js';

const fixture = (path: string): Buffer => readFileSync(new URL(`../fixtures/${path}`, import.meta.url));

/** A body that counts how often it is pulled. */
function countedBody(pieces: BodyPiece[]): { body: AsyncIterable<BodyPiece>; pulls: () => number } {
  let pulls = 0;
  let index = 0;
  const iterator: AsyncIterableIterator<BodyPiece> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      pulls++;
      return index < pieces.length ? { done: false, value: pieces[index++]! } : { done: true, value: undefined };
    },
  };
  return { body: iterator, pulls: () => pulls };
}

function openRouterChunk(delta: Record<string, unknown>, finish: string | null = null): string {
  const chunk = { id: 'gen-1', provider: 'P', model: 'm', object: 'chat.completion.chunk', created: 1, choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** An OpenRouter answer of `count` text chunks (multi-byte text included), as one buffer. */
function openRouterAnswer(count: number, lineEnd = '\n'): { bytes: Buffer; text: string } {
  const texts = Array.from({ length: count }, (_, index) => `tök ${index} — ✓ `);
  const sse = [
    ': OPENROUTER PROCESSING\n\n',
    openRouterChunk({ role: 'assistant', content: '' }),
    ...texts.map((text) => openRouterChunk({ role: 'assistant', content: text })),
    openRouterChunk({ role: 'assistant', content: '' }, 'stop'),
    'data: [DONE]\n\n',
  ].join('');
  return { bytes: Buffer.from(lineEnd === '\n' ? sse : sse.replaceAll('\n', lineEnd)), text: texts.join('') };
}

async function collect(stream: DecodedStream): Promise<ChatEventBatch[]> {
  const batches: ChatEventBatch[] = [];
  for await (const batch of stream) batches.push(batch);
  return batches;
}

describe('DecodedStream, first event of a large read', () => {
  it('hands over the first event before decoding the rest of the read, then the rest without another read', async () => {
    const { bytes, text } = openRouterAnswer(200);
    expect(bytes.length).toBeGreaterThan(20 * FIRST_EVENT_SLICE_BYTES);
    const { body, pulls } = countedBody([bytes]);
    const stream = decodeOpenRouterStream(body);

    const first = await stream.next();
    expect(first.done).toBe(false);
    // Only what the first slice of about FIRST_EVENT_SLICE_BYTES held.
    const firstBatch = first.value as ChatEventBatch;
    expect(firstBatch).toHaveLength(1);
    const firstText = (firstBatch[0] as { type: string; text: string }).text;
    expect(firstBatch[0]!.type).toBe('text-delta');
    expect(text.startsWith(firstText) && firstText.startsWith('tök 0 — ✓ ')).toBe(true);
    expect(Buffer.byteLength(firstText)).toBeLessThan(FIRST_EVENT_SLICE_BYTES / 4);
    expect(pulls()).toBe(1);

    const second = await stream.next();
    expect(pulls()).toBe(1);
    const rest = second.value as ChatEventBatch;
    expect(rest.at(-1)).toEqual({ type: 'finish', reason: 'stop' });
    expect(normalizeEvents([first.value as ChatEventBatch, rest])).toEqual([{ type: 'text-delta', text }, { type: 'finish', reason: 'stop' }]);
    expect((await stream.next()).done).toBe(true);
  });

  it('decodes a read at or under the slice size whole, as before', async () => {
    const small = Buffer.from(openRouterChunk({ content: 'a' }) + openRouterChunk({ content: 'b' }));
    expect(small.length).toBeLessThanOrEqual(FIRST_EVENT_SLICE_BYTES);
    const { body } = countedBody([small, Buffer.from(openRouterChunk({ content: '' }, 'stop') + 'data: [DONE]\n\n')]);
    const batches = await collect(decodeOpenRouterStream(body));
    expect(batches[0]).toEqual([{ type: 'text-delta', text: 'ab' }]);
  });

  it('cuts only before the first event: later large reads are decoded whole', async () => {
    const { bytes } = openRouterAnswer(100);
    const head = Buffer.from(openRouterChunk({ content: 'first' }));
    const { body } = countedBody([head, bytes]);
    const batches = await collect(decodeOpenRouterStream(body));
    expect(batches).toHaveLength(2);
    expect(batches[0]).toEqual([{ type: 'text-delta', text: 'first' }]);
  });

  it('keeps reading when the slices of a read hold no event (a long keep-alive prologue)', async () => {
    const prologue = ': OPENROUTER PROCESSING\n\n'.repeat(200);
    const { bytes, text } = openRouterAnswer(3);
    const { body } = countedBody([Buffer.from(prologue), bytes]);
    const batches = await collect(decodeOpenRouterStream(body));
    expect(normalizeEvents(batches)).toEqual([{ type: 'text-delta', text }, { type: 'finish', reason: 'stop' }]);
  });

  for (const [name, lineEnd] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    it(`decodes one large ${name} read exactly as byte-at-a-time reads`, async () => {
      const { bytes, text } = openRouterAnswer(120, lineEnd);
      const whole = normalizeEvents(await collect(decodeOpenRouterStream(fromPieces([bytes]))));
      const bytewise = normalizeEvents(await collect(decodeOpenRouterStream(fromPieces(byteAtATime(bytes)))));
      expect(whole).toEqual(bytewise);
      expect(whole[0]).toEqual({ type: 'text-delta', text });
    });
  }

  it('handles an answer that ends inside the first read (the terminal event stops the decoder)', async () => {
    const bytes = Buffer.concat([fixture('openrouter/error-mid-stream.sse'), Buffer.from(openRouterChunk({ content: 'never' }).repeat(50))]);
    const batches = await collect(decodeOpenRouterStream(fromPieces([bytes])));
    expect(normalizeEvents(batches)).toEqual([
      { type: 'text-delta', text: 'partial answ' },
      { type: 'error', code: 'UPSTREAM_ERROR', status: 502, message: 'Provider disconnected unexpectedly' },
    ]);
  });

  it('applies to Ollama NDJSON too: many lines in one read, the first one handed over alone', async () => {
    const lines = Array.from({ length: 100 }, (_, index) => JSON.stringify({ model: 'm', created_at: '2026-01-01T00:00:00.000000000Z', message: { role: 'assistant', content: `w${index} ` }, done: false }));
    lines.push(JSON.stringify({ model: 'm', created_at: '2026-01-01T00:00:00.000000000Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', eval_count: 100 }));
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    const { body, pulls } = countedBody([bytes]);
    const stream = decodeOllamaStream(body);
    const first = await stream.next();
    expect((first.value as ChatEventBatch)[0]).toMatchObject({ type: 'text-delta' });
    const firstText = ((first.value as ChatEventBatch)[0] as { text: string }).text;
    expect(firstText.startsWith('w0 ')).toBe(true);
    expect(firstText.length).toBeLessThan(100);
    const rest = await collect(stream);
    expect(pulls()).toBe(1);
    const all = normalizeEvents([first.value as ChatEventBatch, ...rest]);
    expect(all).toEqual([
      { type: 'text-delta', text: Array.from({ length: 100 }, (_, index) => `w${index} `).join('') },
      { type: 'finish', reason: 'stop', usage: { outputTokens: 100 } },
    ]);
  });

  it('drops the undecoded rest when the consumer stops after the first event', async () => {
    const { bytes } = openRouterAnswer(200);
    let released: boolean | undefined;
    const stream = decodeOpenRouterStream(fromPieces([bytes]), () => false, (completed) => (released = completed));
    await stream.next();
    await stream.return();
    expect(released).toBe(false);
    expect((await stream.next()).done).toBe(true);
  });
});
