import { expect } from 'vitest';

/** The SSE data payloads of a response body, parsed (comments skipped, `[DONE]` kept as a string). */
export function dataEvents(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.startsWith('data:'))
    .map((event) => event.replace(/^data: ?/, ''))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}

/**
 * The events of an OpenAI Responses stream, parsed: each frame's `event:` name must be its
 * data's `type`, and sequence numbers run 0, 1, 2…
 */
export function responsesEvents(text: string): any[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text.slice(0, -2).split('\n\n').map((frame, index) => {
    const match = /^event: ([a-z_.]+)\ndata: (.*)$/s.exec(frame);
    expect(match, frame).not.toBeNull();
    const data = JSON.parse(match![2]!);
    expect(data.type).toBe(match![1]);
    expect(data.sequence_number).toBe(index);
    return data;
  });
}
