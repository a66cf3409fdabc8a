import { describe, expect, it } from 'vitest';
import { canonicalizeOllamaBody, foldKey } from '../../src/frontends/ollama/go-json-keys.js';
import { GatewayError } from '../../src/errors.js';

describe('foldKey', () => {
  it('folds as Go matches a key to an (ASCII) field name', () => {
    expect(foldKey('MODEL')).toBe('model');
    expect(foldKey('\u212Aeep_alive')).toBe('keep_alive'); // Kelvin sign
    expect(foldKey('\u017Ftream')).toBe('stream'); // long s
    expect(foldKey('\uFB01les')).not.toBe('files'); // a ligature Go does not fold
  });
});

describe('canonicalizeOllamaBody', () => {
  const refused = (body: unknown): string => {
    try {
      canonicalizeOllamaBody(body);
    } catch (error) {
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).statusCode).toBe(400);
      return (error as Error).message;
    }
    throw new Error('not refused');
  };

  it('refuses keys that differ only in case, at any depth, naming both', () => {
    expect(refused({ model: 'a', MODEL: 'b' })).toContain('keys "model" and "MODEL"');
    expect(refused({ model: 'a', tools: [{ function: { parameters: { properties: { id: {}, ID: {} } } } }] })).toContain('keys "tools.0.function.parameters.properties.id" and "tools.0.function.parameters.properties.ID"');
  });

  it('folds top-level keys to the spelling the gateway reads, and leaves nested ones alone', () => {
    const body: Record<string, unknown> = { Model: 'a', options: { Temperature: 1 } };
    canonicalizeOllamaBody(body);
    expect(body).toEqual({ model: 'a', options: { Temperature: 1 } });
  });

  it('keeps a folded __PROTO__ a plain field', () => {
    const body = JSON.parse('{"__PROTO__":{"polluted":true},"model":"a"}') as Record<string, unknown>;
    canonicalizeOllamaBody(body);
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.keys(body).sort()).toEqual(['__proto__', 'model']);
    expect((body as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('walks a very deep body without recursion', () => {
    const depth = 100_000;
    const body = JSON.parse(`{"model":"a","format":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`);
    expect(() => canonicalizeOllamaBody(body)).not.toThrow();
    const colliding = JSON.parse(`{"format":${'{"a":'.repeat(depth)}{"b":1,"B":2}${'}'.repeat(depth)}}`);
    expect(refused(colliding)).toContain('differ only in case');
  });

  it('leaves anything but a plain object alone', () => {
    expect(() => canonicalizeOllamaBody([{ a: 1, A: 2 }])).not.toThrow();
    expect(() => canonicalizeOllamaBody(undefined)).not.toThrow();
  });
});
