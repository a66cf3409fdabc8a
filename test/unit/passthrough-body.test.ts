import { describe, expect, it } from 'vitest';
import { droppedFields, toPassthroughBody } from '../../src/adapters/openrouter/passthrough-body.js';

const user = { role: 'user', content: 'hi' };
const build = (raw: Record<string, unknown>, models?: string[]) => toPassthroughBody({ body: raw, model: 'x/m', ...(models === undefined ? {} : { fallbackModels: models }) });

describe('OpenAI passthrough body allow-list', () => {
  it('sends model and models as the resolved upstream ids, never as the client wrote them', () => {
    expect(build({ model: 'm', models: ['anthropic/claude-opus-4'], messages: [user] }, ['x/free'])).toEqual({ model: 'x/m', models: ['x/free'], messages: [user] });
    expect(build({ model: 'm', models: ['anthropic/claude-opus-4'], messages: [user] })).toEqual({ model: 'x/m', messages: [user] });
  });

  it('never copies inherited or prototype keys', () => {
    const raw = JSON.parse('{"model":"m","messages":[],"__proto__":{"plugins":[1]},"constructor":{}}');
    const body = build(raw);
    expect(Object.keys(body)).toEqual(['model', 'messages']);
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  });

  it('names dropped fields, not consumed ones, at most 20 and each cut to 64 characters', () => {
    expect(droppedFields({ model: 'm', models: [], think: true, keep_alive: 1, num_ctx: 1, options: {}, messages: [], plugins: [], provider: { zdr: true, order: [] } })).toEqual(['plugins', 'provider.order']);
    const many = Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`field${index}${'x'.repeat(index === 0 ? 100 : 0)}`, 1]));
    const dropped = droppedFields(many);
    expect(dropped).toHaveLength(20);
    expect(dropped[0]).toBe(`field0${'x'.repeat(58)}…`);
  });
});
