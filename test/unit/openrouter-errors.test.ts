/**
 * OpenRouter's error shapes, read by one function for its JSON answers, the stream events its
 * adapter decodes and those the /v1 relay forwards.
 */
import { describe, expect, it } from 'vitest';
import { openRouterErrorIn } from '../../src/adapters/openrouter/errors.js';

describe('openRouterErrorIn', () => {
  it("reads a top-level error: its code is the status, its message with the provider's raw words", () => {
    expect(openRouterErrorIn({ error: { code: 429, message: 'Provider returned error', metadata: { raw: 'error code: 1015' } } })).toMatchObject({
      code: 'UPSTREAM_ERROR', statusCode: 429, message: 'Provider returned error: error code: 1015',
    });
    expect(openRouterErrorIn({ error: { code: '503', message: 'busy' } })).toMatchObject({ statusCode: 503, message: 'busy' });
    expect(openRouterErrorIn({ error: 'plain words' })).toMatchObject({ statusCode: 502, message: 'plain words' });
  });

  it("reads a 401, or a 403 about the key, as the gateway's own key refused", () => {
    expect(openRouterErrorIn({ error: { code: 401, message: 'User not found.' } })).toMatchObject({ code: 'UPSTREAM_KEY_REFUSED', statusCode: 502 });
    expect(openRouterErrorIn({ error: { code: 403, message: 'Key limit exceeded' } })).toMatchObject({ code: 'UPSTREAM_KEY_REFUSED' });
    expect(openRouterErrorIn({ error: { code: 403, message: 'Moderation flagged the input' } })).toMatchObject({ code: 'UPSTREAM_ERROR', statusCode: 403 });
  });

  it('reads a choice that stopped with an error, or carries one', () => {
    expect(openRouterErrorIn({ choices: [{ finish_reason: 'error', error: { code: 504, message: 'timed out' } }] })).toMatchObject({ statusCode: 504, message: 'timed out' });
    expect(openRouterErrorIn({ choices: [{ delta: {}, error: { message: 'cut off' } }] })).toMatchObject({ statusCode: 502, message: 'cut off' });
  });

  it('says who failed when the error says nothing, never an HTTP status that was not sent', () => {
    expect(openRouterErrorIn({ error: { code: 502 } })?.message).toBe('OpenRouter reported an error');
    expect(openRouterErrorIn({ choices: [{ finish_reason: 'error' }] })?.message).toBe('OpenRouter stopped the answer with an error');
  });

  it('finds nothing in an answer or chunk without an error', () => {
    expect(openRouterErrorIn({ choices: [{ delta: { content: 'hi' }, finish_reason: null }] })).toBeUndefined();
    expect(openRouterErrorIn({ choices: [], usage: { prompt_tokens: 1 } })).toBeUndefined();
    expect(openRouterErrorIn({ error: null })).toBeUndefined();
  });
});
