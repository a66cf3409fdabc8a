/**
 * Non-streaming answers are built from the same stream path: collect every event into one
 * result. An error event is thrown (nothing has been sent yet, so it gets a real status).
 */
import type { ChatResult, ChatStream } from './types.js';

export async function collectChat(stream: ChatStream, onToken?: () => void): Promise<ChatResult> {
  const result: ChatResult = { text: '', reasoning: '', toolCalls: [], finishReason: 'stop' };
  for await (const batch of stream) {
    // Token timing (eval_duration) is per batch, as in the streamed answer.
    if (onToken !== undefined && batch.some((event) => event.type === 'text-delta' || event.type === 'reasoning-delta' || event.type === 'tool-call')) onToken();
    for (const event of batch) {
      switch (event.type) {
        case 'text-delta':
          result.text += event.text;
          if (event.logprobs !== undefined) (result.logprobs ??= []).push(...event.logprobs);
          break;
        case 'reasoning-delta':
          result.reasoning += event.text;
          break;
        case 'reasoning-details':
          (result.reasoningDetails ??= []).push(...event.details);
          break;
        case 'tool-call':
          result.toolCalls.push(event.call);
          break;
        case 'finish':
          result.finishReason = event.reason;
          if (event.usage !== undefined) result.usage = event.usage;
          return result;
        case 'error':
          throw event.error;
      }
    }
  }
  return result;
}
