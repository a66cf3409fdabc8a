import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogOutput } from '../../src/startup/log-output.js';
import { requestLineText, withRequestLineText } from '../../src/usage/request-log-line.js';

const recorded = {
  level: 30, time: 1, reqId: 'req-7', keyId: '1a2b3c4d', msg: 'request completed', method: 'POST', url: '/api/chat', route: '/api/chat', status: 200, durationMs: 812.4,
  outcome: 'completed', model: 'gpt-4o', modelServed: 'openai/gpt-4o-2024-08-06', backend: 'openrouter', finishReason: 'stop', promptTokens: 12, completionTokens: 48,
  tokensEstimated: false, costUsd: 0.00051, timeToFirstTokenMs: 301.2, generationId: 'gen-1',
};

describe('the request line as text, for the readable log', () => {
  it('says what was asked, how it ended and what it spent, on one line', () => {
    expect(requestLineText(recorded)).toBe(
      'POST /api/chat 200 in 812.4 ms — gpt-4o (served openai/gpt-4o-2024-08-06 by openrouter) 12+48 tokens, $0.00051, first token 301.2 ms, stop, key 1a2b3c4d, gen-1, req-7',
    );
    expect(requestLineText({ ...recorded, outcome: 'aborted', tokensEstimated: true, finishReason: undefined, modelServed: 'gpt-4o', costUsd: 0 })).toBe(
      'POST /api/chat 200 in 812.4 ms — gpt-4o (by openrouter) aborted, ~12+48 tokens, first token 301.2 ms, key 1a2b3c4d, gen-1, req-7',
    );
    expect(requestLineText({ method: 'GET', url: '/api/version', status: 200, durationMs: 0.4, reqId: 'req-8' })).toBe('GET /api/version 200 in 0.4 ms, req-8');
  });

  it('rewrites only request lines, for pretty output; JSON output keeps every field', () => {
    const line = `${JSON.stringify(recorded)}\n`;
    expect(JSON.parse(withRequestLineText(line))).toEqual({ level: 30, time: 1, msg: requestLineText(recorded) });
    const other = `${JSON.stringify({ level: 40, time: 1, msg: 'something else', status: 500 })}\n`;
    expect(withRequestLineText(other)).toBe(other);

    let written = '';
    const stdout = Object.assign(new Writable({ write(chunk: Buffer, _encoding, callback) { written += chunk.toString(); callback(); } }), { isTTY: false });
    const pretty = createLogOutput('pretty', stdout);
    pretty.release();
    pretty.stream.write(line);
    expect(written).toContain('INFO: POST /api/chat 200 in 812.4 ms — gpt-4o');
    expect(written.trim().split('\n')).toHaveLength(1);
    written = '';
    const json = createLogOutput('json', stdout);
    json.release();
    json.stream.write(line);
    expect(written).toBe(line);
  });
});
