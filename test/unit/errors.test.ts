/**
 * The mapping of failures that happen once an upstream answer has started, shared by both
 * adapters' decoders and the /v1 SSE relay.
 */
import { describe, expect, it } from 'vitest';
import { fromMidStreamError, fromStreamErrorValue, GatewayError, LineTooLongError } from '../../src/errors.js';

describe('fromMidStreamError', () => {
  it('says the answer broke off, not that the upstream cannot be reached', () => {
    const error = fromMidStreamError('OpenRouter', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', statusCode: 502, message: 'OpenRouter broke off the answer midway: other side closed' });
  });

  it('keeps a body timeout a timeout and a client hang-up a hang-up', () => {
    expect(fromMidStreamError('Ollama', Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' })).code).toBe('UPSTREAM_TIMEOUT');
    expect(fromMidStreamError('Ollama', Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' })).code).toBe('CLIENT_CLOSED');
  });

  it('calls an over-long line a bad answer, whichever upstream sent it', () => {
    for (const upstream of ['OpenRouter', 'Ollama']) {
      const error = fromMidStreamError(upstream, new LineTooLongError(1024));
      expect(error).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', statusCode: 502 });
      expect(error.message).toBe(`${upstream} sent a stream line that is too long (an upstream line exceeded 1024 bytes)`);
    }
  });

  it('passes a GatewayError through unchanged', () => {
    const original = new GatewayError('UPSTREAM_ERROR', 'already mapped');
    expect(fromMidStreamError('OpenRouter', original)).toBe(original);
  });
});

describe('fromStreamErrorValue', () => {
  it('takes the message and the status the error code names, else the default', () => {
    expect(fromStreamErrorValue('OpenRouter', { message: 'Rate limit exceeded', code: 429 }, 502)).toMatchObject({ statusCode: 429, message: 'Rate limit exceeded' });
    expect(fromStreamErrorValue('Ollama', 'model crashed', 500)).toMatchObject({ statusCode: 500, message: 'model crashed' });
    expect(fromStreamErrorValue('Ollama', {}, 500).message).toBe('Ollama reported an error mid-stream');
  });
});
