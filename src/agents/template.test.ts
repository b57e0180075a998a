import { describe, expect, it } from 'vitest';
import { inputReadBy } from './template.js';

describe('inputReadBy', () => {
  const input = { part: 'bolt', spec: { size: 'M8', drawing: 'long' }, items: [1, 2], junk: 'x' };

  it('keeps each field a placeholder names, at the depth it names it', () => {
    expect(inputReadBy('{{input_data.part}} {{ input_data.spec.size }} {{entity_type}}', input)).toEqual({ part: 'bolt', spec: { size: 'M8' } });
  });

  it('keeps a field whole when a placeholder names it whole, deeper ones or not', () => {
    expect(inputReadBy('{{input_data.spec.size}} {{input_data.spec}} {{input_data.items}}', input)).toEqual({ spec: input.spec, items: [1, 2] });
  });

  it('keeps all of the input when the template names input_data itself, and none of it when no placeholder reads it', () => {
    expect(inputReadBy('Input: {{input_data}}', input)).toBe(input);
    expect(inputReadBy('Classify {{entity_type}}', input)).toEqual({});
  });

  it('keeps a field named __proto__ as data', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const read = inputReadBy('{{input_data.__proto__.polluted}}', hostile);
    expect(JSON.stringify(read)).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
