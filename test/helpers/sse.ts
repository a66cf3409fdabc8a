/** The SSE data payloads of a response body, parsed (comments skipped, `[DONE]` kept as a string). */
export function dataEvents(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.startsWith('data:'))
    .map((event) => event.replace(/^data: ?/, ''))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));
}
